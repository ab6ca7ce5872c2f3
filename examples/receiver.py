"""A local stand-in for Slack's incoming webhook, for examples/demo: it listens on a free
loopback port (written to the file named by its first argument), answers every POST with 200
and appends the body, one JSON document per line, to the file named by its second."""

import http.server
import sys


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[2], "ab") as out:
            out.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
with open(sys.argv[1], "w") as port:
    port.write(str(server.server_port))
server.serve_forever()
