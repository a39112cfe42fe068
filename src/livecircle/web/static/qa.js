/* livecircle room page: qa (mounted by tools.js; not built yet). */

export function mountQa(ctx) {
  return { handlers: {}, reload() {} };
}
