// Alertmanager for the bench, and freePort for the fault tests: both now live with the e2e chain's daemons.
export {
  ALERTMANAGER_BIN,
  type AlertmanagerProcess,
  freePort,
  startAlertmanager,
} from "../test/support/daemons.js";
