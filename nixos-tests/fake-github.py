"""A tiny stand-in for the GitHub REST API, for the NixOS VM tests (python3 stdlib only).

Serves the calls homelab-healer makes for one repository, checks the token on each of them,
and exposes everything it was asked to do at GET /_state. Listens on 127.0.0.1 only.
"""

import argparse
import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


class Forge:
    """The repository's pull requests, labels, comments and deleted branches."""

    def __init__(self, owner, repo, port, git_dir):
        self.owner = owner
        self.repo = repo
        self.git_dir = git_dir
        self.base_url = f"http://127.0.0.1:{port}"
        self.lock = threading.Lock()
        self.pulls = []
        self.comments = []
        self.deleted_refs = []
        self.requests = []

    def repository(self):
        return {
            "id": 1,
            "name": self.repo,
            "full_name": f"{self.owner}/{self.repo}",
            "owner": {"login": self.owner},
            "default_branch": "main",
            "html_url": f"https://github.example/{self.owner}/{self.repo}",
            # What GitHub reports for a token that may push and open pull requests (`homelab-healer
            # doctor` reads it; its empty POST /pulls then gets the 422 below, not a 403).
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        }

    def label(self, name):
        """A label the repository has: one homelab-healer added to a pull request."""
        for pull in self.pulls:
            if name in [label["name"] for label in pull["labels"]]:
                return 200, {"name": name, "color": "ededed"}
        return 404, {"message": "Not Found"}

    def create_pull(self, body):
        for key in ("title", "head", "base"):
            if not isinstance(body.get(key), str) or not body[key]:
                return 422, {"message": "Validation Failed", "errors": [{"field": key, "code": "missing"}]}
        head = body["head"].split(":")[-1]
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in self.pulls):
            return 422, {
                "message": "Validation Failed",
                "errors": [{"message": f"A pull request already exists for {self.owner}:{head}."}],
            }
        number = len(self.pulls) + 1
        pull = {
            "id": 1000 + number,
            "number": number,
            "state": "open",
            "merged": False,
            "merged_at": None,
            "draft": bool(body.get("draft", False)),
            "title": body["title"],
            "body": body.get("body", ""),
            "head": {"ref": head, "label": f"{self.owner}:{head}", "sha": self.sha(head)},
            "base": {"ref": body["base"]},
            "labels": [],
            "html_url": f"https://github.example/{self.owner}/{self.repo}/pull/{number}",
            "url": f"{self.base_url}/repos/{self.owner}/{self.repo}/pulls/{number}",
        }
        self.pulls.append(pull)
        return 201, pull

    def sha(self, ref):
        """The branch's commit in the homelab repository, as GitHub reports a PR's head."""
        if self.git_dir is None:
            return "0" * 40
        found = subprocess.run(
            ["git", "-c", "safe.directory=*", "--git-dir", self.git_dir, "rev-parse", f"refs/heads/{ref}"],
            capture_output=True,
            text=True,
        )
        return found.stdout.strip() if found.returncode == 0 else "0" * 40

    def update_pull(self, number, body):
        pull = self.pull(number)
        if pull is None:
            return 404, {"message": "Not Found"}
        if body.get("state") in ("open", "closed"):
            pull["state"] = body["state"]
        for key in ("title", "body"):
            if isinstance(body.get(key), str):
                pull[key] = body[key]
        return 200, pull

    def list_pulls(self, query):
        state = query.get("state", ["open"])[0]
        head = query.get("head", [None])[0]
        found = [p for p in self.pulls if state == "all" or p["state"] == state]
        if head is not None:
            found = [p for p in found if p["head"]["label"] == head or p["head"]["ref"] == head]
        return 200, [self.fresh(p) for p in found]

    def fresh(self, pull):
        """The PR with its head commit as the repository has it now (a push moves it)."""
        if pull["state"] == "open":
            pull["head"]["sha"] = self.sha(pull["head"]["ref"])
        return pull

    def pull(self, number):
        for p in self.pulls:
            if p["number"] == number:
                return p
        return None

    def add_labels(self, number, body):
        pull = self.pull(number)
        if pull is None:
            return 404, {"message": "Not Found"}
        names = body.get("labels", body) if isinstance(body, dict) else body
        if not isinstance(names, list):
            return 422, {"message": "Validation Failed"}
        for name in names:
            name = name["name"] if isinstance(name, dict) else name
            if name not in [label["name"] for label in pull["labels"]]:
                pull["labels"].append({"name": name})
        return 200, pull["labels"]

    def add_comment(self, number, body):
        if self.pull(number) is None:
            return 404, {"message": "Not Found"}
        if not isinstance(body.get("body"), str):
            return 422, {"message": "Validation Failed"}
        comment_id = len(self.comments) + 1
        comment = {
            "id": comment_id,
            "issue": number,
            "body": body["body"],
            "html_url": f"https://github.example/{self.owner}/{self.repo}/pull/{number}#issuecomment-{comment_id}",
        }
        self.comments.append(comment)
        return 201, comment

    def state(self):
        return {
            "pulls": self.pulls,
            "comments": self.comments,
            "deletedRefs": self.deleted_refs,
            "requests": self.requests,
        }


def make_handler(forge, token):
    repo_prefix = f"/repos/{forge.owner}/{forge.repo}"
    routes = [
        ("GET", r"", lambda m, q, b: (200, forge.repository())),
        ("GET", r"/pulls", lambda m, q, b: forge.list_pulls(q)),
        ("POST", r"/pulls", lambda m, q, b: forge.create_pull(b)),
        ("GET", r"/pulls/(\d+)", lambda m, q, b: pull_or_404(forge, int(m[1]))),
        ("PATCH", r"/pulls/(\d+)", lambda m, q, b: forge.update_pull(int(m[1]), b)),
        ("POST", r"/issues/(\d+)/labels", lambda m, q, b: forge.add_labels(int(m[1]), b)),
        ("GET", r"/labels/([^/]+)", lambda m, q, b: forge.label(m[1])),
        ("POST", r"/issues/(\d+)/comments", lambda m, q, b: forge.add_comment(int(m[1]), b)),
        ("DELETE", r"/git/refs/heads/(.+)", lambda m, q, b: delete_ref(forge, m[1])),
    ]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.route("GET")

        def do_POST(self):
            self.route("POST")

        def do_DELETE(self):
            self.route("DELETE")

        def do_PATCH(self):
            self.route("PATCH")

        def route(self, method):
            url = urlsplit(self.path)
            path = unquote(url.path).rstrip("/")
            if method == "GET" and path == "/_state":
                with forge.lock:
                    return self.reply(200, forge.state())
            body = self.read_body()
            with forge.lock:
                forge.requests.append({"method": method, "path": path})
                if self.headers.get("Authorization", "") not in (f"token {token}", f"Bearer {token}"):
                    return self.reply(401, {"message": "Bad credentials"})
                if body is ValueError:
                    return self.reply(400, {"message": "Problems parsing JSON"})
                if path.startswith(repo_prefix):
                    rest = path[len(repo_prefix):]
                    for want, pattern, action in routes:
                        match = re.fullmatch(pattern, rest)
                        if want == method and match:
                            return self.reply(*action(match, parse_qs(url.query), body))
            print(f"fake-github: no route for {method} {self.path}", file=sys.stderr, flush=True)
            self.reply(404, {"message": "Not Found"})

        def read_body(self):
            length = int(self.headers.get("Content-Length") or 0)
            if length == 0:
                return {}
            try:
                return json.loads(self.rfile.read(length))
            except ValueError:
                return ValueError

        def reply(self, status, payload):
            data = b"" if status == 204 else json.dumps(payload).encode()
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, fmt, *args):
            print(f"fake-github: {fmt % args}", file=sys.stderr, flush=True)

    return Handler


def pull_or_404(forge, number):
    pull = forge.pull(number)
    return (200, forge.fresh(pull)) if pull is not None else (404, {"message": "Not Found"})


def delete_ref(forge, ref):
    forge.deleted_refs.append(ref)
    return 204, None


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True, help="0 picks a free one, printed at start")
    parser.add_argument("--owner", required=True)
    parser.add_argument("--repo", required=True)
    parser.add_argument("--token-file", required=True)
    parser.add_argument("--git-dir", help="the homelab repository, for the PRs' head commits")
    args = parser.parse_args()
    with open(args.token_file, encoding="utf-8") as f:
        token = f.read().strip()
    forge = Forge(args.owner, args.repo, args.port, args.git_dir)
    server = ThreadingHTTPServer(("127.0.0.1", args.port), make_handler(forge, token))
    port = server.server_address[1]
    forge.base_url = f"http://127.0.0.1:{port}"
    print(f"fake-github: serving {args.owner}/{args.repo} on 127.0.0.1:{port}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
