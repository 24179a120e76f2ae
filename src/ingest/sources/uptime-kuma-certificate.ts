import { hashIdentity, receivedMinute } from "../fingerprint.js";
import type { NormalizedAlert } from "../types.js";
import { cleanText, hostOf, LIMITS, optText } from "./common.js";

/*
 * Uptime Kuma's certificate-expiry notice (server/model/monitor.js sendCertNotificationByTargetDays):
 * sent with `monitor` and `heartbeat` both null and only the text
 *   2.x:   `[<monitor name>][<monitor url>] <type> certificate <CN> will expire in <n> days`
 *   1.23:  `[<monitor name>][<monitor url>] <type> certificate <CN> will be expired in <n> days`
 * <type> is "server", "intermediate CA", "root CA" or "self-signed" (util-server.js, walking the chain),
 * or "" for Globalping monitors (then two spaces precede "certificate"); <CN> may be "undefined" and
 * <n> negative once expired. One notice per certificate of the chain and per threshold day (7/14/21 by
 * default), never retried.
 *
 * Identity: ["uptime-kuma", monitor name, URL, "certificate"]: the notices for every certificate of a
 * monitor's chain are one problem ("this site's TLS is about to break"), whichever certificate it is.
 * Kuma has no occurrence id; the key is the notice text plus the minute it arrived, so two notification
 * channels pointed at us within a minute count once, and the same text in a later renewal cycle counts
 * again.
 */

const NOTICE =
  /^\[(.{1,500}?)\]\[(.{0,2000}?)\] (.{0,50}?) ?certificate (.{0,500}) will (?:be expired|expire) in (-?\d{1,6}) days?$/;

/** What a certificate notice says, or null when the text is not one. */
export interface CertificateNotice {
  monitor: string;
  url: string | null;
  certType: string | null;
  commonName: string | null;
  daysRemaining: number;
}

/** Reads a certificate-expiry notice text; null when it does not have Uptime Kuma's format. */
export function readCertificateNotice(msg: string): CertificateNotice | null {
  const m = NOTICE.exec(msg.trim());
  if (!m) return null;
  const [, monitor, url, certType, commonName, days] = m as unknown as string[];
  const name = monitor!.trim();
  if (name === "") return null;
  return {
    monitor: name,
    // Kuma formats a missing URL as "null"/"undefined" (template string of a null field).
    url: url === "" || url === "null" || url === "undefined" ? null : url!,
    certType: certType === "" ? null : certType!,
    commonName: commonName === "" || commonName === "undefined" ? null : commonName!,
    daysRemaining: Number(days),
  };
}

/** The alert for a certificate notice: service = monitor name, host = the URL's host. */
export function certificateNoticeAlert(
  msg: string,
  notice: CertificateNotice,
  labels: Record<string, string>,
  receivedAt: Date | undefined,
): NormalizedAlert {
  const monitor = cleanText(notice.monitor, LIMITS.nameChars);
  const url = notice.url === null ? null : cleanText(notice.url, 2000);
  const fingerprint = hashIdentity(["uptime-kuma", notice.monitor, notice.url ?? "", "certificate"]);
  const summary = cleanText(msg, LIMITS.summaryChars);
  return {
    source: "uptime-kuma",
    status: "firing",
    fingerprint,
    idempotencyKey: hashIdentity([
      "uptime-kuma",
      fingerprint,
      msg,
      receivedAt ? receivedMinute(receivedAt) : "",
    ]),
    name: `${monitor} certificate`,
    service: monitor,
    host: hostOf(labels.host) ?? hostOf(notice.url),
    // An expired certificate (0 or fewer days) already breaks every client.
    severity: notice.daysRemaining <= 0 ? "critical" : "warning",
    summary,
    details: {
      monitorName: monitor,
      url,
      certificateType: optText(notice.certType, 50),
      commonName: optText(notice.commonName, 500),
      daysRemaining: notice.daysRemaining,
      evidence: [summary],
    },
    labels,
    startsAt: null,
  };
}
