"""GLIP: detection as phrase grounding."""
from typing import Dict, List, Optional, Sequence, Tuple

from mmdet.models.detectors import SingleStageDetector
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData
from torch import Tensor, nn

from mmglip.registry import MODELS
from mmglip.text import (Prompt, PromptError, build_caption_prompt,
                         build_class_prompts, prompt_token_ids, split_texts)


@MODELS.register_module()
class GLIP(SingleStageDetector):
    """Prompt -> language -> vision -> fusion -> head.

    Each data sample carries ``text``: a list of class names (labels index
    into it), or a caption string with ``tokens_positive`` (per entity, its
    character spans; labels index into the entities), or a ``"a. b. c"``
    string without spans (split on ". " into class names). Optional
    ``caption_prompt`` (per class ``prefix`` / ``name`` / ``suffix``) adds
    words around class names; only the names are positive.

    Args:
        backbone, neck, data_preprocessor, init_cfg: as mmdet detectors.
        language_model: config of the language backbone.
        fusion_neck: config of :class:`VLFusionNeck`.
        bbox_head: config of :class:`VLATSSHead`.
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
                 tuning_mode: str = 'full', init_cfg=None):
        super().__init__(backbone=backbone, neck=neck, bbox_head=bbox_head,
                         train_cfg=train_cfg, test_cfg=test_cfg,
                         data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.language_model = MODELS.build(language_model)
        self.fusion_neck = MODELS.build(fusion_neck)
        self.chunk_size = chunk_size
        if tuning_mode not in self.TUNING_MODES:
            raise ValueError(f'model.tuning_mode={tuning_mode!r}: use one of '
                             f'{self.TUNING_MODES}.')
        self.tuning_mode = tuning_mode
        if tuning_mode == 'prompt':
            self.prompt_embeddings = nn.Linear(
                self.language_model.language_dim, 1000, bias=False)
            nn.init.zeros_(self.prompt_embeddings.weight)
        self._freeze_for_tuning()
        # lets mmengine's load_checkpoint (`load_from=`) take official GLIP
        # files as they are
        self._register_load_state_dict_pre_hook(self._convert_official)

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

    def _convert_official(self, state_dict, prefix, local_metadata, strict,
                          missing_keys, unexpected_keys, error_msgs):
        """Convert an official GLIP checkpoint in place (root call only) by
        :func:`mmglip.zoo.weights.convert_in_place`, the one converter."""
        if not prefix:
            from mmglip.zoo.weights import convert_in_place
            unexpected_keys.extend(
                convert_in_place(self, state_dict, local_metadata))

    @property
    def max_tokens(self) -> int:
        return self.language_model.max_tokens

    # ---------------------------------------------------------------- prompts
    def build_prompts(self, sample: DetDataSample) -> List[Prompt]:
        """The prompt(s) of one data sample (several when chunked)."""
        text = sample.metainfo.get('text', None)
        if text is None:
            raise PromptError(
                'A data sample has no `text`: give class names or a caption '
                '(datasets: return_classes=True and "text" in PackDetInputs '
                'meta_keys).')
        spans = sample.metainfo.get('tokens_positive', None)
        caption_prompt = sample.metainfo.get('caption_prompt', None)
        if isinstance(text, str) and spans is not None and spans != -1:
            return [build_caption_prompt(text, spans)]
        names = split_texts(text) if isinstance(text, str) else list(text)
        return build_class_prompts(
            self.language_model.tokenizer, names, self.max_tokens,
            self.chunk_size, caption_prompt)

    def _encode(self, prompts: Sequence[Prompt]):
        """Captions -> language dict and per-prompt token ids per entity."""
        lang = self.language_model([p.caption for p in prompts])
        if self.tuning_mode == 'prompt':
            offset = self.prompt_embeddings.weight[:lang['hidden'].shape[1]]
            lang = dict(lang, hidden=lang['hidden'] + offset,
                        embedded=lang['embedded'] + offset)
        token_ids = [
            prompt_token_ids(self.language_model.tokenizer, p,
                             self.max_tokens) for p in prompts
        ]
        return lang, token_ids

    def _fuse(self, feats: Tuple[Tensor], lang: Dict[str, Tensor]
              ) -> Tuple[List[Tensor], Tensor]:
        fused, tokens = self.fusion_neck(feats, lang)
        if not self.fusion_neck.early_fuse:
            tokens = lang['embedded']
        return fused, tokens

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
        lang, token_ids = self._encode(prompts)
        num_tokens = lang['masks'].shape[1]
        gts = []
        for sample, ids in zip(batch_data_samples, token_ids):
            gt = sample.gt_instances
            pos = gt.bboxes.new_zeros((len(ids), num_tokens))
            for entity, entity_ids in enumerate(ids):
                pos[entity, entity_ids] = 1
            labels = gt.labels.long()
            if len(labels) and labels.max() >= len(ids):
                raise PromptError(
                    f'{sample.metainfo.get("img_path")}: gt label '
                    f'{int(labels.max())} but the prompt has only '
                    f'{len(ids)} entities.')
            gts.append(
                InstanceData(
                    bboxes=gt.bboxes if isinstance(gt.bboxes, Tensor) else
                    gt.bboxes.tensor,
                    pos_tokens=pos[labels]))
        feats = self.extract_feat(batch_inputs)
        fused, tokens = self._fuse(feats, lang)
        return self.bbox_head.loss(fused, tokens, lang['masks'], gts,
                                   [s.metainfo for s in batch_data_samples])

    # -------------------------------------------------------------- inference
    def predict(self, batch_inputs: Tensor,
                batch_data_samples: List[DetDataSample],
                rescale: bool = True) -> List[DetDataSample]:
        prompts = [self.build_prompts(s) for s in batch_data_samples]
        num_chunks = {len(p) for p in prompts}
        if len(num_chunks) != 1:
            raise PromptError('All images of a batch need prompts with the '
                              'same number of chunks; use batch size 1.')
        feats = self.extract_feat(batch_inputs)
        metas = [s.metainfo for s in batch_data_samples]
        per_chunk = []
        for c in range(num_chunks.pop()):
            chunk = [p[c] for p in prompts]
            lang, token_ids = self._encode(chunk)
            fused, tokens = self._fuse(feats, lang)
            results = self.bbox_head.predict(fused, tokens, token_ids, metas,
                                             rescale)
            for res, prompt in zip(results, chunk):
                res.labels = res.labels + prompt.label_offset
            per_chunk.append(results)
        max_per_img = self.bbox_head.test_cfg.get('max_per_img', 100)
        outputs = []
        for i, sample in enumerate(batch_data_samples):
            if len(per_chunk) == 1:
                res = per_chunk[0][i]
            else:
                res = InstanceData.cat([r[i] for r in per_chunk])
                order = res.scores.argsort(descending=True)[:max_per_img]
                res = res[order]
            names = [n for p in prompts[i] for n in p.entities]
            res.label_names = [names[int(lbl)] for lbl in res.labels]
            sample.pred_instances = res
            outputs.append(sample)
        return outputs

    def _forward(self, batch_inputs: Tensor,
                 batch_data_samples: List[DetDataSample]):
        prompts = [self.build_prompts(s)[0] for s in batch_data_samples]
        lang, _ = self._encode(prompts)
        fused, tokens = self._fuse(self.extract_feat(batch_inputs), lang)
        return self.bbox_head.forward(fused, tokens)
