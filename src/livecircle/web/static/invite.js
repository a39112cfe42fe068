/* The invite page (invite.html): copy buttons for the personal code and link. */
for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", async () => {
    const source = document.getElementById(button.dataset.copy);
    source.select();
    try {
      await navigator.clipboard.writeText(source.value);
    } catch {
      document.execCommand("copy");
    }
    document.getElementById("copy-status").classList.remove("hidden");
  });
}
