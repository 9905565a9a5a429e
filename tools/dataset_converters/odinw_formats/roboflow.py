"""Roboflow COCO export -> ODinW layout.

A Roboflow COCO export (``{train,valid,test}/_annotations.coco.json`` next
to the images). Roboflow's background super-category (id 0, no
annotations) is dropped and the other category ids re-mapped to 1..N in
their order; images, annotations and their other fields are kept. If an
annotation id is 0, all annotation ids are shifted by one (pycocotools
takes id 0 for "unmatched"). An image whose real size differs from its
json entry is named in the warnings (and written as in the source).
"""
import json
import os.path as osp
from typing import Dict, List, Optional, Tuple

from .common import (ConversionError, ConversionResult, TaskLayout,
                     check_dst, decoded_size)
from .write import write_files


def convert_roboflow_coco(src: str, dst: str,
                          link: bool = False,
                          layout: Optional[TaskLayout] = None
                          ) -> ConversionResult:
    """Roboflow COCO export -> ODinW layout (see the module docstring)."""
    check_dst(dst)
    found = {}
    for sp, keys in (('train', ('train', )), ('valid', ('valid', 'val')),
                     ('test', ('test', ))):
        for k in keys:
            p = osp.join(src, k, '_annotations.coco.json')
            if osp.isfile(p):
                found[sp] = p
                break
    if not found:
        raise ConversionError(
            f'{src}: no Roboflow COCO export found (expected '
            '{train,valid,test}/_annotations.coco.json next to the images).')
    warns, notes = [], []
    unreadable: Dict[str, str] = {}
    out: Dict[str, Tuple[dict, List[Tuple[str, str]]]] = {}
    cat_signature = None
    for sp, path in found.items():
        with open(path, encoding='utf-8') as f:
            coco = json.load(f)
        cats = sorted(coco.get('categories', []), key=lambda c: c['id'])
        used = {a['category_id'] for a in coco.get('annotations', [])}
        if cats and cats[0]['id'] == 0:
            bg = cats[0]
            if 0 in used:
                n = sum(a['category_id'] == 0 for a in coco['annotations'])
                raise ConversionError(
                    f'{path}: category id 0 ({bg["name"]!r}) has {n} '
                    'annotation(s), so it is not Roboflow\'s background '
                    'super-category; this export cannot be converted as '
                    'roboflow-coco (fix the categories first).')
            cats = cats[1:]
            dropped = f'background category id 0 {bg["name"]!r} dropped'
            if dropped not in notes:
                notes.append(dropped)
        signature = [c['name'] for c in cats]
        if cat_signature is None:
            cat_signature = signature
        elif signature != cat_signature:
            raise ConversionError(
                f'{path}: categories {signature} differ from the other '
                f'splits\' {cat_signature}.')
        remap = {c['id']: i + 1 for i, c in enumerate(cats)}
        new = {k: v for k, v in coco.items()
               if k not in ('categories', 'annotations')}
        new['categories'] = [dict(c, id=remap[c['id']]) for c in cats]
        shift = any(a.get('id') == 0 for a in coco.get('annotations', []))
        if shift:
            notes.append(f'{sp}: annotation ids shifted by +1 (an id was 0)')
        anns = []
        for a in coco.get('annotations', []):
            if a['category_id'] not in remap:
                raise ConversionError(
                    f'{path}: annotation id {a.get("id")} has category_id '
                    f'{a["category_id"]}, which is not in "categories".')
            a = dict(a, category_id=remap[a['category_id']])
            if shift:
                a['id'] = a['id'] + 1
            anns.append(a)
        new['annotations'] = anns
        files = []
        folder = osp.dirname(path)
        for img in coco.get('images', []):
            p = osp.join(folder, img['file_name'])
            if not osp.isfile(p):
                raise ConversionError(
                    f'{path}: image id {img["id"]} ({img["file_name"]!r}) '
                    f'is missing: {p} does not exist.')
            real = decoded_size(p, unreadable)
            json_size = (img.get('width'), img.get('height'))
            if p not in unreadable and all(
                    isinstance(v, int) for v in json_size) and tuple(
                        real) != json_size:
                warns.append(
                    f'{path}: image id {img["id"]} ({img["file_name"]!r}) '
                    f'is {real[0]}x{real[1]} but {json_size[0]}x'
                    f'{json_size[1]} in the json (written as in the '
                    'source); its boxes may not line up.')
            files.append((p, img['file_name']))
        out[sp] = (new, files)
    return write_files(dst, 'roboflow-coco', cat_signature, out,
                       'the source\'s own', warns, notes, link, unreadable,
                       layout)
