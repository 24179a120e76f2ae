import { html } from "hono/html";
import { ASSETS } from "./assets.js";
import type { Html } from "./format.js";
import type { Session } from "./session.js";

/** The hidden field every form of a session carries. */
export function csrfField(session: Session): Html {
  return html`<input type="hidden" name="csrf" value="${session.csrf}">`;
}

/** The document's start: the style sheet and (for pages with data) the optional script, both ours. */
function head(title: string, script: boolean): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · homelab-healer</title>
<link rel="stylesheet" href="${ASSETS.css.path}">
${script ? html`<script src="${ASSETS.js.path}" defer></script>` : ""}
</head>`;
}

/** The page shell: head, header with sign-out, the content; `refresh` seconds for the optional reload. */
export function page(p: {
  title: string;
  session?: Session | undefined;
  refresh?: number;
  body: Html;
}): Html {
  const s = p.session;
  return html`${head(p.title, true)}
<body${p.refresh ? html` data-refresh="${p.refresh}"` : ""}>
<header class="top">
<a class="brand" href="/">homelab-healer</a>
${
  s
    ? html`<form method="post" action="/logout">${csrfField(s)}<span class="muted">${s.role === "viewer" ? "viewer (read-only)" : "operator"}</span> <button type="submit">Sign out</button></form>`
    : ""
}
</header>
<main>
${p.body}
</main>
</body>
</html>`;
}

/** The sign-in form: one password field named `token`. */
export function signInPage(p: { error?: string; next: string }): Html {
  return html`${head("Sign in", false)}
<body>
<main>
<div class="signin">
<h1>homelab-healer</h1>
${p.error ? html`<p class="flash error" role="alert">${p.error}</p>` : ""}
<form method="post" action="/login">
<input type="hidden" name="next" value="${p.next}">
<label for="token">Token (the API token, or the viewer token)</label>
<input id="token" name="token" type="password" autocomplete="current-password" required autofocus>
<button class="primary" type="submit">Sign in</button>
</form>
</div>
</main>
</body>
</html>`;
}

/** An error page (a missing incident, a refused action). */
export function errorPage(p: { title: string; message: string; session?: Session | undefined }): Html {
  return page({
    title: p.title,
    session: p.session,
    body: html`<h1>${p.title}</h1><p class="flash error">${p.message}</p><p><a href="/">Back to the incidents</a></p>`,
  });
}
