/* livecircle room page: lottery (mounted by tools.js; not built yet). */

export function mountLottery(ctx) {
  return { handlers: {}, reload() {} };
}
