/* livecircle room page: cohost (mounted by tools.js; not built yet). */

export function mountCohost(ctx) {
  return { handlers: {}, reload() {} };
}
