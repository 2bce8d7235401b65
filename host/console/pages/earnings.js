// Earnings, for a promoter, creator or agency signed in with its beneficiary key: its
// balance with every merchant it earns from, and its statements.

import { api, all } from "../api.js";
import { t } from "../i18n.js";
import { h, table, section, yuan, time } from "../ui.js";

export async function render(main, params, ctx) {
  const id = ctx.me.beneficiary;
  const path = `/v1/beneficiaries/${encodeURIComponent(id)}`;
  const [balance, statements] = await Promise.all([api("GET", `${path}/balance`), all(`${path}/statements`)]);
  const figures = (f) => [yuan(f.pending), yuan(f.settleable), yuan(f.carried), yuan(f.paid_out)];
  const columns = (first) => [
    first,
    [t("balance.pending"), (r) => figures(r.figures)[0]],
    [t("balance.settleable"), (r) => figures(r.figures)[1]],
    [t("balance.carried"), (r) => figures(r.figures)[2]],
    [t("balance.paid_out"), (r) => figures(r.figures)[3]],
  ];
  const rows = balance.merchants;
  main.append(
    h("h1", {}, t("earnings.title", { id })),
    section(
      t("earnings.balance"),
      table(columns([t("earnings.merchant"), (r) => r.merchant]), [...rows, { merchant: t("earnings.total"), figures: balance.total }]),
    ),
    section(
      t("earnings.statements"),
      table(
        [
          [t("earnings.settlement"), (s) => s.settlement],
          [t("earnings.merchant"), (s) => s.merchant],
          [t("earnings.until"), (s) => time(s.until_ms, ctx.offset)],
          [t("earnings.received"), (s) => yuan(s.received)],
          [t("earnings.paid_on"), (s) => yuan(s.paid_on)],
          [t("earnings.brought_forward"), (s) => yuan(s.brought_forward)],
          [t("earnings.net"), (s) => yuan(s.net)],
          [t("earnings.payout"), (s) => h("strong", {}, yuan(s.payout))],
        ],
        statements,
        { empty: t("earnings.none") },
      ),
    ),
  );
}
