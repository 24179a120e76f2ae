import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { tokenMatches } from "../api/auth.js";

/** Who a session belongs to: the API token's holder can act; a viewer only reads. */
export type Role = "operator" | "viewer";

export interface Session {
  role: Role;
  /** Unix seconds after which the cookie is refused. */
  expires: number;
  /** The session's anti-forgery token: every form of this session carries it. */
  csrf: string;
}

export const COOKIE = "healer_session";

/**
 * Stateless signed sessions: `v1.<role>.<expires>.<nonce>.<hmac>`. The key is derived from the tokens
 * themselves, so rotating a token signs every session made with the old one out; nothing is stored.
 */
export class Sessions {
  private readonly key: Buffer;

  constructor(
    private readonly tokens: { token: string; viewerToken?: string | undefined },
    private readonly seconds: number,
  ) {
    this.key = createHash("sha256")
      .update(`homelab-healer web session\0${tokens.token}\0${tokens.viewerToken ?? ""}`)
      .digest();
  }

  /** The role a typed token signs in as (constant-time comparisons), or undefined for a wrong one. */
  roleFor(given: string): Role | undefined {
    const operator = tokenMatches(given, this.tokens.token);
    const viewer = this.tokens.viewerToken !== undefined && tokenMatches(given, this.tokens.viewerToken);
    return operator ? "operator" : viewer ? "viewer" : undefined;
  }

  /** A new cookie value for `role`, valid for the configured seconds from `now`. */
  issue(role: Role, now: Date): string {
    const expires = Math.floor(now.getTime() / 1000) + this.seconds;
    const body = `v1.${role}.${expires}.${randomBytes(16).toString("base64url")}`;
    return `${body}.${this.sign(body)}`;
  }

  /** The session a cookie value stands for, or undefined when forged, malformed or expired. */
  read(value: string | undefined, now: Date): Session | undefined {
    const m = /^(v1\.(operator|viewer)\.(\d{1,12})\.([A-Za-z0-9_-]{22}))\.([A-Za-z0-9_-]{43})$/.exec(
      value ?? "",
    );
    if (!m) return undefined;
    const [, body, role, expires, nonce, sig] = m as unknown as [
      string,
      string,
      Role,
      string,
      string,
      string,
    ];
    if (!equal(sig, this.sign(body))) return undefined;
    if (Number(expires) <= now.getTime() / 1000) return undefined;
    return { role, expires: Number(expires), csrf: this.sign(`csrf.${nonce}`) };
  }

  /** Whether a form's token is this session's (constant time). */
  csrfMatches(session: Session, given: string | undefined): boolean {
    return given !== undefined && equal(given, session.csrf);
  }

  private sign(text: string): string {
    return createHmac("sha256", this.key).update(text).digest("base64url");
  }
}

function equal(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
