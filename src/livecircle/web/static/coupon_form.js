/* The coupon form (console_coupons.html). The end of the offer is typed in this browser's time:
 * send its UTC offset at that moment. */
const form = document.getElementById("coupon-form");
if (form) {
  form.addEventListener("submit", () => {
    const until = form.elements.valid_until.value;
    form.elements.tz_offset.value = until ? String(new Date(until).getTimezoneOffset()) : "";
  });
}
