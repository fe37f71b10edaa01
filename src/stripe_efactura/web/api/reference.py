"""The interactive API reference at ``/api/v1/docs``, rendered on the server from the
generated OpenAPI document, with a small script of our own (``/api/v1/docs/reference.js``)
that sends a request from each operation's form. FastAPI's default pages load Swagger UI or
ReDoc from a CDN: nothing outside this service is loaded (the Content-Security-Policy says
so), and no third-party file is copied into the project."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ...app import sessions
from ...app.accounts import Principal
from ...jsontypes import JsonObject, JsonValue, json_object
from .auth import SESSION_COOKIE, context, principal
from .common import PROBLEMS

router = APIRouter(include_in_schema=False, responses=PROBLEMS)
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "frame-ancestors 'none'"
)

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:60rem;margin:1rem auto;padding:0 1rem;color:#111}
h2{border-bottom:1px solid #ccc;margin-top:2rem}details{border:1px solid #ddd;margin:.4rem 0;
padding:.3rem .6rem;border-radius:4px}summary{cursor:pointer}code.m{font-weight:bold;
display:inline-block;width:4.5rem}pre{background:#f4f4f4;padding:.5rem;overflow:auto;
max-height:20rem}label{display:block;margin:.2rem 0}input,textarea{font:inherit;width:100%}
textarea{height:6rem}button{margin-top:.4rem}
"""

_SCRIPT = """
"use strict";
const csrf = document.querySelector('meta[name="csrf-token"]').content;
const tokenBox = document.getElementById("token");
tokenBox.value = sessionStorage.getItem("efactura-token") || "";
tokenBox.addEventListener("change", () => sessionStorage.setItem("efactura-token", tokenBox.value));
for (const form of document.querySelectorAll("form.try")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let path = form.dataset.path;
    const query = new URLSearchParams();
    for (const input of form.querySelectorAll("input[data-in]")) {
      if (!input.value) continue;
      if (input.dataset.in === "path") {
        path = path.replace("{" + input.name + "}", encodeURIComponent(input.value));
      } else { query.append(input.name, input.value); }
    }
    const headers = {};
    if (tokenBox.value) headers["Authorization"] = "Bearer " + tokenBox.value;
    else if (csrf) headers["X-CSRF-Token"] = csrf;
    const body = form.querySelector("textarea");
    const init = {method: form.dataset.method, headers};
    if (body && body.value.trim()) {
      headers["Content-Type"] = "application/json";
      init.body = body.value;
    }
    const url = form.dataset.base + path + (query.toString() ? "?" + query : "");
    const out = form.querySelector("pre");
    try {
      const answer = await fetch(url, init);
      const type = answer.headers.get("content-type") || "";
      const text = type.includes("json") ? JSON.stringify(await answer.json(), null, 2)
        : "(" + type + ", " + (await answer.blob()).size + " bytes)";
      out.textContent = answer.status + " " + answer.statusText + "\\n" + text;
    } catch (error) { out.textContent = String(error); }
  });
}
"""


def _object(value: object) -> JsonObject:
    return json_object(value) or {}


def _text(value: JsonValue) -> str:
    return escape(str(value))


def _schema_name(schema: JsonObject) -> str:
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    items = json_object(schema.get("items"))
    if schema.get("type") == "array" and items is not None:
        return f"list of {_schema_name(items)}"
    return str(schema.get("type", "object"))


def _operation(base: str, path: str, method: str, op: JsonObject) -> str:
    params = op.get("parameters", [])
    rows = "".join(
        f"<label>{_text(p['name'])} <small>({_text(p['in'])}"
        f"{', required' if p.get('required') else ''})</small>"
        f'<input name="{_text(p["name"])}" data-in="{_text(p["in"])}"></label>'
        for p in map(_object, params if isinstance(params, list) else [])
    )
    body = ""
    content = _object(_object(op.get("requestBody")).get("content")).get("application/json")
    if content:
        name = _schema_name(_object(_object(content).get("schema")))
        body = f"<label>JSON body ({escape(name)})<textarea></textarea></label>"
    answers = ", ".join(
        f"{escape(code)} {_text(_object(r).get('description', ''))}"
        for code, r in _object(op.get("responses")).items()
    )
    return (
        f'<details id="{_text(op.get("operationId", ""))}"><summary><code class="m">'
        f"{method.upper()}</code> <code>{escape(path)}</code> — {_text(op.get('summary', ''))}"
        f"</summary><p>{_text(op.get('description', ''))}</p><p><small>Answers: {answers}"
        f'</small></p><form class="try" data-base="{escape(base)}" data-path="{escape(path)}" '
        f'data-method="{method.upper()}">{rows}{body}<button>Send</button><pre></pre></form>'
        "</details>"
    )


def render(document: JsonObject, base: str, csrf: str) -> str:
    """The reference page of an OpenAPI document, grouped by tag."""
    groups: dict[str, list[str]] = {}
    for path, item in _object(document.get("paths")).items():
        for method, value in _object(item).items():
            op = _object(value)
            tags = op.get("tags")
            tag = str(tags[0]) if isinstance(tags, list) and tags else "other"
            groups.setdefault(tag, []).append(_operation(base, path, method, op))
    info = _object(document.get("info"))
    sections = "".join(
        f"<h2>{escape(tag)}</h2>{''.join(ops)}" for tag, ops in sorted(groups.items())
    )
    title = _text(info.get("title", "API"))
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="csrf-token" content="{escape(csrf)}">'
        f"<title>{title} reference</title><style>{_STYLE}</style>"
        f"</head><body><h1>{title} {_text(info.get('version', ''))}"
        f"</h1><p>{_text(info.get('description', ''))}</p><p>OpenAPI 3.1 document: "
        f'<a href="{escape(base)}/openapi.json">openapi.json</a>.</p>'
        '<label>API token (kept in this tab only; empty: your console session)<input id="token" '
        'autocomplete="off"></label>'
        f'{sections}<script src="{escape(base)}/docs/reference.js"></script></body></html>'
    )


@router.get("/docs")
def reference_page(request: Request, _who: Principal = Depends(principal)) -> HTMLResponse:
    cookie = request.cookies.get(SESSION_COOKIE)
    csrf = sessions.csrf_token(context(request), cookie) if cookie else ""
    base = request.scope.get("root_path", "").rstrip("/")
    html = render(request.app.openapi(), base, csrf)
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-store"})


@router.get("/docs/reference.js")
def reference_script(_who: Principal = Depends(principal)) -> Response:
    return Response(_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-store"})
