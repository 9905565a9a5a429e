#!/usr/bin/env python
"""Vendor the embedded demo dataset: a small subset of Raccoon.

Reads the original Raccoon dataset (Pascal VOC, datitran/raccoon_dataset,
MIT licence) and writes ``demo/data/raccoon_mini/{train,valid}/`` with the
images and ``annotations_without_background.json`` (COCO, the ODinW layout).
The split follows the authors' own train/test csv files; the images are the
smallest files of each split, to keep the repository light. Run once; the
output is committed.

    python demo/make_demo_data.py ../shared/data/raccoon demo/data/raccoon_mini
"""
import argparse
import csv
import json
import os
import os.path as osp
import shutil
import xml.etree.ElementTree as ET


def voc_boxes(xml_path):
    root = ET.parse(xml_path).getroot()
    size = root.find('size')
    width, height = int(size.find('width').text), int(size.find('height').text)
    boxes = []
    for obj in root.findall('object'):
        bb = obj.find('bndbox')
        x1, y1, x2, y2 = (float(bb.find(k).text)
                          for k in ('xmin', 'ymin', 'xmax', 'ymax'))
        boxes.append((obj.find('name').text, x1, y1, x2, y2))
    return width, height, boxes


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[1])
    p.add_argument('src')
    p.add_argument('dst')
    p.add_argument('--num-train', type=int, default=24)
    p.add_argument('--num-valid', type=int, default=8)
    p.add_argument('--num-test', type=int, default=8)
    args = p.parse_args()
    if osp.exists(args.dst):
        raise FileExistsError(f'{args.dst} exists; remove it first.')
    # valid and test: disjoint parts of the authors' test split
    for split, csv_name, first, num in (
            ('train', 'train_labels.csv', 0, args.num_train),
            ('valid', 'test_labels.csv', 0, args.num_valid),
            ('test', 'test_labels.csv', args.num_valid, args.num_test)):
        with open(osp.join(args.src, 'data', csv_name)) as f:
            names = sorted({row['filename'] for row in csv.DictReader(f)})
        names.sort(key=lambda n: os.path.getsize(
            osp.join(args.src, 'images', n)))
        chosen = sorted(names[first:first + num], key=lambda n: int(n[8:-4]))
        out = osp.join(args.dst, split)
        os.makedirs(out)
        coco = dict(images=[], annotations=[],
                    categories=[dict(id=1, name='raccoon',
                                     supercategory='animals')])
        for img_id, name in enumerate(chosen, 1):
            w, h, boxes = voc_boxes(
                osp.join(args.src, 'annotations', name[:-4] + '.xml'))
            shutil.copyfile(osp.join(args.src, 'images', name),
                            osp.join(out, name))
            coco['images'].append(dict(id=img_id, file_name=name, width=w,
                                       height=h))
            for cls, x1, y1, x2, y2 in boxes:
                coco['annotations'].append(
                    dict(id=len(coco['annotations']) + 1, image_id=img_id,
                         category_id=1, bbox=[x1, y1, x2 - x1, y2 - y1],
                         area=(x2 - x1) * (y2 - y1), iscrowd=0))
        with open(osp.join(out, 'annotations_without_background.json'),
                  'w') as f:
            json.dump(coco, f, indent=1)
        print(f'{split}: {len(chosen)} images, '
              f'{len(coco["annotations"])} boxes')
    shutil.copyfile(osp.join(args.src, 'LICENSE'),
                    osp.join(args.dst, 'LICENSE'))
    with open(osp.join(args.dst, 'README.md'), 'w') as f:
        f.write(
            '# raccoon_mini\n\nA subset of the Raccoon dataset by Dat Tran '
            '(https://github.com/datitran/raccoon_dataset), MIT licence '
            '(see LICENSE), converted from Pascal VOC to COCO by '
            '`demo/make_demo_data.py`. Train images come from the authors\' '
            'train split, valid and test images (disjoint) from their test '
            'split.\n')


if __name__ == '__main__':
    main()
