"""A loopback server speaking the Hugging Face Hub's download protocol, and
a plain file mirror, for the zoo tests.

What ``huggingface_hub.hf_hub_download`` (2.4) reads, as huggingface.co
sends it for an LFS file:

* ``HEAD {endpoint}/{repo}/resolve/{revision}/{file}`` answers ``302`` with
  ``X-Repo-Commit`` (required), ``X-Linked-Etag: "<sha256>"`` (the LFS
  SHA-256, quoted; it names the cached blob), ``X-Linked-Size`` and a
  ``Location`` on another origin (the CDN; the hub follows redirects only on
  its own origin, so the CDN here listens on a second port). No ``X-Xet-*``
  header and no ``Link: ...; rel="xet-auth"``: hf-xet is never used.
* ``GET {cdn}/...`` serves the bytes, with ``Range`` (``206`` and
  ``Content-Range``). A file the repository does not hold answers ``404``
  with ``X-Error-Code: EntryNotFound``.

``/mirror/<file>`` (and ``<file>.sha256``) is a plain HTTP mirror of the same
files. ``modes[file]`` makes a download misbehave: ``html`` (the body is an
HTML page; the hub's HEAD omits the size, as a proxy would), ``flip`` (one
byte flipped), ``truncate`` (the body is cut short and says so) and ``cut``
(the connection drops after ``cut_at`` bytes, once). ``portal = True``
answers every request with an HTML page (a captive portal);
``no_sidecar = True`` removes the mirror's ``<file>.sha256``.
"""
import hashlib
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COMMIT = hashlib.sha1(b'mmglip-test-commit').hexdigest()
HTML = (b'<!DOCTYPE html><html><body>Service temporarily unavailable'
        b'</body></html>\n')


class HubServer:

    def __init__(self):
        self.files = {}  # repo path -> bytes
        self.modes = {}  # repo path -> html | flip | truncate | cut
        self.cut_at = 64 * 1024
        self.portal = False
        self.stopped = False
        self.no_sidecar = False  # the mirror has no <file>.sha256
        self.gate = threading.Event()  # cleared: bodies wait until set
        self.gate.set()
        self.log = []  # (port name, method, path, Range, status)
        self._lock = threading.Lock()
        outer = self

        def handler(kind):

            class Handler(BaseHTTPRequestHandler):
                protocol_version = 'HTTP/1.1'

                def log_message(self, *args):
                    pass

                def do_HEAD(self):
                    outer._serve(self, kind, head=True)

                def do_GET(self):
                    outer._serve(self, kind, head=False)

            return Handler

        self._servers = []
        for kind in ('hub', 'cdn'):
            httpd = ThreadingHTTPServer(('127.0.0.1', 0), handler(kind))
            httpd.daemon_threads = True
            threading.Thread(target=httpd.serve_forever, daemon=True,
                             kwargs=dict(poll_interval=0.05)).start()
            self._servers.append(httpd)
        self.endpoint = 'http://127.0.0.1:%d' % self._servers[0].server_port
        self.cdn = 'http://127.0.0.1:%d' % self._servers[1].server_port
        self.mirror = self.endpoint + '/mirror'

    def stop(self):
        self.stopped = True  # also for the kept-alive connections
        self.gate.set()
        for httpd in self._servers:
            httpd.shutdown()
            httpd.server_close()

    def add(self, path, data):
        self.files[path] = data
        return hashlib.sha256(data).hexdigest()

    def _find(self, rel):
        return next((k for k in self.files if k.endswith('/' + rel)), None)

    def requests(self, method=None, name=''):
        return [r for r in self.log if (method is None or r[1] == method)
                and r[2].split('?')[0].endswith(name)]

    # -------------------------------------------------------------------
    def _record(self, h, kind, status):
        with self._lock:
            self.log.append((kind, h.command, h.path, h.headers.get('Range'),
                             status))

    def _send(self, h, kind, status, headers, body=b'', head=False):
        self._record(h, kind, status)
        h.send_response(status)
        for key, value in headers.items():
            h.send_header(key, value)
        h.send_header('Content-Length', str(len(body)))
        h.end_headers()
        if not head:
            h.wfile.write(body)

    def _serve(self, h, kind, head):
        path = h.path.split('?')[0]
        if self.stopped:
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
            return
        if self.portal:
            return self._send(h, kind, 200, {'Content-Type': 'text/html'},
                              HTML, head)
        if kind == 'hub' and '/resolve/' in path:
            repo, _, rest = path.lstrip('/').partition('/resolve/')
            revision, _, name = rest.partition('/')
            key = f'{repo}/{name}'
            if key not in self.files:
                return self._send(h, kind, 404, {
                    'X-Error-Code': 'EntryNotFound', 'X-Repo-Commit': COMMIT
                }, b'Entry not found', head)
            data = self.files[key]
            sha = hashlib.sha256(data).hexdigest()
            headers = {'X-Repo-Commit': COMMIT, 'ETag': f'"{sha}"',
                       'X-Linked-Etag': f'"{sha}"',
                       'X-Linked-Size': str(len(data)),
                       'Location': f'{self.cdn}/cdn/{key}?sig=1'}
            if self.modes.get(key) == 'html':
                del headers['X-Linked-Size']
            return self._send(h, kind, 302, headers, b'', head)
        if kind == 'cdn' and path.startswith('/cdn/'):
            key = path[len('/cdn/'):]
        elif kind == 'hub' and path.startswith('/mirror/'):
            # the mirror holds the repository's files under their names
            rel = path[len('/mirror/'):]
            key = self._find(rel)
            if key is None and rel.endswith('.sha256') and \
                    self._find(rel[:-7]) and not self.no_sidecar:
                sha = hashlib.sha256(self.files[self._find(rel[:-7])])
                body = f'{sha.hexdigest()}  {rel[:-7]}\n'.encode()
                return self._send(h, kind, 200, {}, body, head)
        else:
            key = None
        if key not in self.files:
            return self._send(h, kind, 404, {}, b'not found', head)
        self._body(h, kind, key, head)

    def _body(self, h, kind, key, head):
        data = self.files[key]
        mode = self.modes.get(key)
        if mode == 'html':
            return self._send(h, kind, 200, {'Content-Type': 'text/html'},
                              HTML, head)
        if mode == 'flip':
            data = bytearray(data)
            data[len(data) // 2] ^= 0x01
            data = bytes(data)
        elif mode == 'truncate':
            data = data[:len(data) * 2 // 3]
        start, status, headers = 0, 200, {'Accept-Ranges': 'bytes',
                                          'ETag': '"cdn-v1"'}
        rng = h.headers.get('Range')
        if rng:
            start = int(rng.split('=')[1].split('-')[0])
            if start >= len(data):
                headers['Content-Range'] = f'bytes */{len(data)}'
                return self._send(h, kind, 416, headers, b'', head)
            status = 206
            headers['Content-Range'] = \
                f'bytes {start}-{len(data) - 1}/{len(data)}'
        body = data[start:]
        cut = mode == 'cut' and status == 200 and not head
        if cut:
            self.modes.pop(key)  # once
        self._record(h, kind, status)
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header('Content-Length', str(len(body)))
        h.end_headers()
        if head:
            return
        self.gate.wait(30)
        if cut:
            h.wfile.write(body[:self.cut_at])
            h.wfile.flush()
            h.connection.shutdown(socket.SHUT_RDWR)
            h.close_connection = True
            return
        try:
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
