#!/usr/bin/env python
"""Download released GLIP checkpoints: verified, resumable, converted.

    python tools/download.py --list
    python tools/download.py glip-t_c                 # into the cache
    python tools/download.py glip-t_c --dest weights  # and a copy there
    python tools/download.py glip-l --mirror http://mirror.local/glip

Each file is checked against its size and SHA-256 (pinned in the model
index, recorded on this machine's first download, or the server's checksum
header), resumed with HTTP Range after an interruption, retried with
back-off, written atomically, converted to mmglip's layout (model weights
only) and cached under $MMGLIP_HOME (default ~/.cache/mmglip). A cached file
is used without network access. Prints the path of each file on stdout.

Environment: MMGLIP_HOME (cache), MMGLIP_MIRROR (base URL serving
<mirror>/<weight file>), MMGLIP_OFFLINE=1 (never use the network).
"""
import argparse
import os
import os.path as osp
import sys

sys.path.insert(0, osp.dirname(osp.dirname(osp.abspath(__file__))))

from mmglip.utils.cli import (HelpFormatter, UserError,  # noqa: E402
                              add_debug_flag, check_writable_dir,
                              positive_int, run_tool)


def _non_negative_int(text):
    value = int(text) if text.lstrip('-').isdigit() else None
    if value is None or value < 0:
        raise argparse.ArgumentTypeError(f'{text!r} is not an integer >= 0')
    return value


def parse_args(argv=None):
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=HelpFormatter)
    p.add_argument('names', nargs='*', metavar='NAME',
                   help='zoo names (see --list)')
    p.add_argument('--list', action='store_true',
                   help='print the zoo (and what is cached) and exit')
    p.add_argument('--dest', help='also copy the file(s) into this folder')
    p.add_argument('--force', action='store_true',
                   help='replace a different file of the same name in --dest')
    p.add_argument('--mirror', help='base URL serving every file '
                   '(default: $MMGLIP_MIRROR, else the index\'s URLs)')
    p.add_argument('--home', help='cache folder (default: $MMGLIP_HOME or '
                   '~/.cache/mmglip)')
    p.add_argument('--no-convert', action='store_true',
                   help='keep the official file as it is (no conversion)')
    p.add_argument('--keep-official', action='store_true',
                   help='keep the official file in the cache after '
                   'converting it')
    p.add_argument('--weights-key', default='model',
                   choices=['model', 'model_ema'],
                   help='which weights of an official file to convert')
    p.add_argument('--offline', action='store_true',
                   help='never use the network (as MMGLIP_OFFLINE=1)')
    p.add_argument('--retries', type=_non_negative_int, default=5,
                   help='retries of a failed transfer')
    p.add_argument('--timeout', type=positive_int, default=60,
                   help='socket timeout in seconds')
    p.add_argument('--quiet', action='store_true',
                   help='no progress bar or messages, paths only')
    add_debug_flag(p)
    args = p.parse_args(argv)
    if not args.list and not args.names:
        p.error('give a NAME (see --list)')
    return args


def check_args(args):
    """The cache and --dest are writable and the names known, before any
    transfer."""
    from mmglip.utils.cli import did_you_mean
    from mmglip.zoo.download import SCHEME, zoo_home
    from mmglip.zoo.index import load_index
    home = zoo_home(args.home)
    check_writable_dir(os.fspath(home), '--home' if args.home else
                       'the cache ($MMGLIP_HOME or ~/.cache/mmglip)')
    if args.dest:
        check_writable_dir(args.dest, '--dest')
    index = load_index()
    for name in args.names:
        bare = name[len(SCHEME):] if name.startswith(SCHEME) else name
        if bare not in index:
            raise UserError(f'{name!r} is not a model of the zoo'
                            f'{did_you_mean(bare, index.names)}; see '
                            'tools/download.py --list.')


def print_list(home=None) -> None:
    from mmglip.zoo.download import list_cache, zoo_home
    from mmglip.zoo.index import format_list, load_index
    index = load_index()
    print(format_list(index))
    cached = {}
    for item in list_cache(home):
        name = item.get('zoo_name') or osp.basename(item['path'])
        cached.setdefault(name, []).append(item['path'])
    root = zoo_home(home)
    if cached:
        print(f'\ncached in {root}:')
        for name, paths in cached.items():
            for path in paths:
                print(f'  {name}: {path}')
    else:
        print(f'\nnothing cached in {root} yet')
    print(f'\nindex: {index.path}')


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.list:
        print_list(args.home)
        return 0
    check_args(args)
    from mmglip.zoo.download import ZooError, fetch
    from mmglip.zoo.index import UnknownModelError
    failed = 0
    for name in args.names:
        try:
            got = fetch(name, args.dest, mirror=args.mirror, home=args.home,
                        convert=not args.no_convert,
                        weights_key=args.weights_key,
                        keep_official=args.keep_official,
                        offline=True if args.offline else None,
                        force=args.force, retries=args.retries,
                        timeout=args.timeout, quiet=args.quiet,
                        progress=None if not args.quiet else False)
        except (ZooError, UnknownModelError, FileExistsError) as e:
            print(f'error: {e}', file=sys.stderr)
            failed += 1
            continue
        if not args.quiet:
            print(f'{got.name}: {got.path} (SHA-256 of {osp.basename(got.url)}'
                  f' {got.sha256[:16]}..., {got.sha256_source or "cached"}'
                  f'{", converted" if got.converted else ""})',
                  file=sys.stderr)
        print(got.path)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(run_tool(main))
