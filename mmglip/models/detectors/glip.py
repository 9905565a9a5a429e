"""GLIP: detection as phrase grounding."""
import warnings
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmdet.models.detectors import SingleStageDetector
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmglip.models.layers.fast_inference import fast_inference_ops
from mmglip.registry import MODELS
from mmglip.text import Prompt, PromptError, build_prompts, prompt_token_ids
from ..language.features import LanguageFeatures


@MODELS.register_module()
class GLIP(SingleStageDetector):
    """Prompt -> language -> vision -> fusion -> head.

    Each data sample carries ``text``: a list of class names (labels index
    into it), or a caption string with ``tokens_positive`` (per entity, its
    character spans; labels index into the entities), or a ``"a. b. c"``
    string without spans (split on ". " into class names). Optional
    ``caption_prompt`` (per class ``prefix`` / ``name`` / ``suffix``) adds
    words around class names; only the names are positive.

    Training: prompts -> language model -> image features -> fusion neck ->
    ``bbox_head.loss(fused, lang, batch_data_samples)``; inference the same
    with ``bbox_head.predict(fused, lang, batch_data_samples, rescale)``,
    once per chunk of a chunked class list (labels offset to the whole
    list; every chunk's detections kept, each chunk capped at
    ``test_cfg.max_per_img`` as the official evaluation does). ``lang``
    holds the ``tokens`` the fusion neck hands on, their padding ``masks``
    and per sample the ``token_ids`` of each entity.

    Args:
        backbone, neck, data_preprocessor, init_cfg: as mmdet detectors.
        language_model: config of the language backbone.
        fusion_neck: config of :class:`VLFusionNeck`.
        bbox_head: config of :class:`VLATSSHead`. Their ``lang_dim`` follows
            the language model (a config that gives another value is an
            error).
        chunk_size: classes per prompt when a class list does not fit the
            language model (official LVIS evaluation: 40); None packs as
            many classes as fit into each chunk.
        tuning_mode: what trains. ``full``: everything (freeze the stem with
            the backbone's ``frozen_stages``); ``prompt``: only a
            zero-initialised offset added to the token features (official
            prompt tuning, ``prompt_embeddings`` [1000, lang_dim], loaded
            from an official ``rpn.tunable_linear``); ``linear``: only the
            head's final predictors and alignment scale / biases (linear
            probe). Frozen parts stay in eval mode while training.
        fast_inference: inference shortcuts that keep the detections (each
            tested against the plain path, which False runs): every chunk
            of a chunked class list through the language model in one call
            (each chunk then trimmed to its longest caption); without early
            fusion (GLIP-T (A)) the visual tower and the head's box /
            centerness branches once per image and only the region-token
            alignment per chunk; under ``torch.no_grad`` the predict path
            runs in ``torch.inference_mode`` (the returned detections are
            ordinary tensors); layers take their shortcuts
            (``fast_inference_ops``): the X-MHA folds its visual projections
            into the attention (the same function in about half the
            arithmetic), DyHead's deformable convs on CPU gather their
            samples on every core, then one matrix product. The language
            model's own cache of a fixed prompt's features is
            ``language_model.cache_size``.
    """

    TUNING_MODES = ('full', 'prompt', 'linear')
    # trainable in linear probing (official: bbox_pred, centerness, the text
    # projection and the alignment's log_scale / bias_lang / bias0)
    LINEAR_PROBE_KEYS = ('bbox_head.bbox_pred.', 'bbox_head.centerness.',
                         'bbox_head.dot_product_projection_text.',
                         'bbox_head.log_scale', 'bbox_head.bias_lang',
                         'bbox_head.bias0')

    def __init__(self, backbone: dict, neck: dict, language_model: dict,
                 fusion_neck: dict, bbox_head: dict,
                 train_cfg: Optional[dict] = None,
                 test_cfg: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None,
                 chunk_size: Optional[int] = None,
                 tuning_mode: str = 'full', fast_inference: bool = True,
                 init_cfg=None):
        # the language model's width, read from its config before anything
        # is built (the build order, hence seeded initialisation, is kept)
        lang_dim = _language_dim(language_model)
        bbox_head = _without_retired_keys(bbox_head)
        fusion_neck = _derived(fusion_neck, 'fusion_neck', lang_dim=lang_dim)
        bbox_head = _derived(bbox_head, 'bbox_head', lang_dim=lang_dim)
        super().__init__(backbone=backbone, neck=neck, bbox_head=bbox_head,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.language_model = MODELS.build(language_model)
        assert self.language_model.language_dim == lang_dim
        self.fusion_neck = MODELS.build(fusion_neck)
        self.chunk_size = chunk_size
        self.fast_inference = fast_inference
        if tuning_mode not in self.TUNING_MODES:
            raise ValueError(f'model.tuning_mode={tuning_mode!r}: use one of '
                             f'{self.TUNING_MODES}.')
        self.tuning_mode = tuning_mode
        if tuning_mode == 'prompt':
            self.prompt_embeddings = nn.Linear(
                self.language_model.language_dim, 1000, bias=False)
            nn.init.zeros_(self.prompt_embeddings.weight)
        self._freeze_for_tuning()
        # another GLIP variant's converted file is refused naming both
        self._register_load_state_dict_pre_hook(self._check_layout)

    def _freeze_for_tuning(self) -> None:
        if self.tuning_mode == 'full':
            return
        for name, param in self.named_parameters():
            if self.tuning_mode == 'prompt':
                param.requires_grad = name.startswith('prompt_embeddings.')
            else:
                param.requires_grad = name.startswith(self.LINEAR_PROBE_KEYS)

    def train(self, mode: bool = True):
        super().train(mode)
        if mode and self.tuning_mode != 'full':
            # frozen parts: no dropout / drop path / DropBlock
            for module in (self.backbone, self.neck, self.language_model,
                           self.fusion_neck):
                module.eval()
        return self

    def _check_layout(self, state_dict, prefix, local_metadata, strict,
                      missing_keys, unexpected_keys, error_msgs):
        """Refuse (root call only) a state dict whose recorded official
        layout (:func:`mmglip.weights.official.record_layout`: files
        converted at the door, ``mmglip.weights``) is another variant's;
        mmengine's non-strict ``load_from`` would load it half."""
        if not prefix:
            from mmglip.weights.official import LAYOUT_KEY, check_layout
            check_layout(self, (local_metadata or {}).get(LAYOUT_KEY),
                         'the checkpoint')

    @property
    def max_tokens(self) -> int:
        return self.language_model.max_tokens

    # ---------------------------------------------------------------- prompts
    def build_prompts(self, sample: DetDataSample) -> List[Prompt]:
        """The prompt(s) of one data sample (several when chunked): its
        ``text``, ``tokens_positive`` and ``caption_prompt`` meta keys, by
        :func:`mmglip.text.build_prompts`."""
        text = sample.metainfo.get('text', None)
        if text is None:
            raise PromptError(
                'A data sample has no `text`: give class names or a caption '
                '(datasets: return_classes=True and "text" in PackDetInputs '
                'meta_keys).')
        return build_prompts(self.language_model.tokenizer, text,
                             sample.metainfo.get('tokens_positive', None),
                             sample.metainfo.get('caption_prompt', None),
                             self.max_tokens, self.chunk_size)

    def _encode(self, prompts: Sequence[Prompt]) -> LanguageFeatures:
        """Captions -> the language model's features, with ``token_ids``
        (per prompt, per entity, its token indices)."""
        lang = self.language_model([p.caption for p in prompts])
        if self.tuning_mode == 'prompt':
            offset = self.prompt_embeddings.weight[:lang.num_tokens]
            lang = lang.replace(hidden=lang.hidden + offset,
                                embedded=lang.embedded + offset)
        return lang.replace(token_ids=[
            prompt_token_ids(self.language_model.tokenizer, p,
                             self.max_tokens) for p in prompts
        ])

    def _fuse(self, feats: Tuple[Tensor], lang: LanguageFeatures
              ) -> Tuple[List[Tensor], LanguageFeatures]:
        """Fused levels and the features with the head's ``tokens`` (as
        the fusion neck hands them on)."""
        fused, tokens = self.fusion_neck(feats, lang)
        return fused, lang.replace(tokens=tokens)

    # ------------------------------------------------------------------ train
    def loss(self, batch_inputs: Tensor,
             batch_data_samples: List[DetDataSample]) -> Dict[str, Tensor]:
        prompts = []
        for sample in batch_data_samples:
            sample_prompts = self.build_prompts(sample)
            if len(sample_prompts) > 1:
                raise PromptError(
                    f'Training prompt of {sample.metainfo.get("img_path")} '
                    f'has {len(sample.metainfo["text"])} classes, more than '
                    f'fit in {self.max_tokens} tokens: sample a subset of '
                    'classes per image (as GLIP pretraining does).')
            prompts.append(sample_prompts[0])
        lang = self._encode(prompts)
        fused, lang = self._fuse(self.extract_feat(batch_inputs), lang)
        return self.bbox_head.loss(fused, lang, batch_data_samples)

    # -------------------------------------------------------------- inference
    def predict(self, batch_inputs: Tensor,
                batch_data_samples: List[DetDataSample],
                rescale: bool = True) -> List[DetDataSample]:
        prompts = [self.build_prompts(s) for s in batch_data_samples]
        if len({len(p) for p in prompts}) != 1:
            raise PromptError('All images of a batch need prompts with the '
                              'same number of chunks; use batch size 1.')
        if not (self.fast_inference and not torch.is_grad_enabled()
                and not torch.is_inference_mode_enabled()):
            with fast_inference_ops(self.fast_inference):
                return self._predict(batch_inputs, batch_data_samples,
                                     prompts, rescale)
        with torch.inference_mode(), fast_inference_ops():
            outputs = self._predict(batch_inputs, batch_data_samples,
                                    prompts, rescale)
        for sample in outputs:
            # ordinary tensors for the caller (inference tensors refuse
            # in-place changes outside inference mode)
            pred = sample.pred_instances
            for key in list(pred.keys()):
                if isinstance(pred[key], Tensor):
                    pred[key] = pred[key].clone()
        return outputs

    def _predict(self, batch_inputs: Tensor,
                 batch_data_samples: List[DetDataSample],
                 prompts: List[List[Prompt]],
                 rescale: bool) -> List[DetDataSample]:
        feats = self.extract_feat(batch_inputs)
        chunks = [[p[c] for p in prompts] for c in range(len(prompts[0]))]
        per_chunk = []
        if self.fast_inference:
            langs = self._encode_chunks(chunks)
        else:
            langs = (self._encode(chunk) for chunk in chunks)
        if self.fast_inference and self.fusion_neck.text_independent:
            # the visual tower once; per chunk only the alignment
            head = self.bbox_head
            visual = head.forward_visual(self.fusion_neck.forward_visual(
                feats))
            metas = [s.metainfo for s in batch_data_samples]
            for lang in langs:
                logits = head.forward_align(visual['regions'],
                                            self.fusion_neck.head_tokens(lang))
                per_chunk.append(head.predict_by_feat(
                    logits, visual['bbox_preds'], visual['centerness'],
                    metas, rescale=rescale, token_ids=lang.token_ids))
        else:
            for lang in langs:
                fused, lang = self._fuse(feats, lang)
                per_chunk.append(self.bbox_head.predict(
                    fused, lang, batch_data_samples, rescale))
        return merge_chunks(prompts, per_chunk, batch_data_samples)

    def _encode_chunks(self, chunks: List[List[Prompt]]
                       ) -> List[LanguageFeatures]:
        """Per chunk (its prompts, one per image), the :meth:`_encode` dict,
        from one language-model call over all chunks; each chunk trimmed to
        its longest caption unless the model pads to ``max_tokens``."""
        if len(chunks) == 1:
            return [self._encode(chunks[0])]
        lang = self._encode([p for chunk in chunks for p in chunk])
        pad_to_max = getattr(self.language_model, 'pad_to_max', False)
        lengths = lang.masks.sum(1).tolist()  # one host sync
        out, start = [], 0
        for chunk in chunks:
            end = start + len(chunk)
            length = self.max_tokens if pad_to_max else int(
                max(lengths[start:end]))
            out.append(lang.select(start, end, length))
            start = end
        return out

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: List[DetDataSample]):
        prompts = [self.build_prompts(s)[0] for s in batch_data_samples]
        lang = self._encode(prompts)
        fused, lang = self._fuse(self.extract_feat(batch_inputs), lang)
        return self.bbox_head.forward(fused, lang)


def _language_dim(cfg: dict) -> int:
    """``language_dim`` of the language model ``cfg`` builds, read by its
    class's ``config_language_dim`` without building it."""
    cls = cfg['type'] if isinstance(cfg['type'], type) else \
        MODELS.get(cfg['type'])
    if cls is None or not hasattr(cls, 'config_language_dim'):
        raise TypeError(
            f'model.language_model type {cfg["type"]!r}: a language model '
            'class registered in mmglip with a config_language_dim(cfg) '
            'classmethod is needed.')
    return cls.config_language_dim(cfg)


#: head options of earlier mmglip versions, still found in configs that
#: training runs dumped into their work dirs
_RETIRED_HEAD_KEYS = {
    'early_fuse': 'the fusion neck decides which tokens reach the head '
                  '(model.fusion_neck.early_fuse)',
}


def _without_retired_keys(bbox_head: dict) -> dict:
    """``bbox_head`` without options mmglip no longer reads, each named in a
    warning (an old work dir's config keeps loading)."""
    retired = [k for k in _RETIRED_HEAD_KEYS if k in bbox_head]
    if not retired:
        return bbox_head
    for key in retired:
        warnings.warn(f'model.bbox_head.{key} is no longer used and is '
                      f'ignored: {_RETIRED_HEAD_KEYS[key]}.', stacklevel=3)
    return {k: v for k, v in bbox_head.items() if k not in retired}


def _derived(cfg: dict, name: str, **values) -> dict:
    """A copy of a sub-model config with ``values`` set; a value the config
    gives already must be the same (else a one-line ValueError)."""
    cfg = dict(cfg)
    for key, value in values.items():
        given = cfg.get(key, None)
        if given is not None and given != value:
            raise ValueError(
                f'model.{name}.{key}={given} but the language model gives '
                f'{key}={value}: remove {key} from model.{name} (it follows '
                'the language model).')
        cfg[key] = value
    return cfg


def merge_chunks(prompts: List[List[Prompt]],
                 per_chunk: List[List[InstanceData]],
                 data_samples: List[DetDataSample]) -> List[DetDataSample]:
    """Each image's detections of all its prompt chunks (``prompts[i][c]``,
    ``per_chunk[c][i]``) as one ``pred_instances``: labels offset to the
    whole class list, every chunk's detections kept (each capped at
    max_per_img by the head, as the official evaluation and mmdet's port:
    LVIS Fixed AP then ranks per class over the dataset) and sorted by
    score, ``label_names`` from the prompts. Used by :meth:`GLIP._predict`
    and the ONNX Runtime model alike."""
    for c, results in enumerate(per_chunk):
        for i, res in enumerate(results):
            res.labels = res.labels + prompts[i][c].label_offset
    outputs = []
    for i, sample in enumerate(data_samples):
        if len(per_chunk) == 1:
            res = per_chunk[0][i]
        else:
            res = InstanceData.cat([r[i] for r in per_chunk])
            res = res[res.scores.argsort(descending=True, stable=True)]
        names = [n for p in prompts[i] for n in p.entities]
        res.label_names = [names[int(lbl)] for lbl in res.labels]
        sample.pred_instances = res
        outputs.append(sample)
    return outputs
