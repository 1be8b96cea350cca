// Signing in: the key is sent once, as JSON, and kept by the server in an HttpOnly cookie.
document.addEventListener("DOMContentLoaded", function () {
  var form = document.getElementById("login");
  if (!form) return;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var error = document.getElementById("login-error");
    fetch(form.dataset.session, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ key: document.getElementById("key").value }),
    }).then(function (response) {
      if (response.ok) { window.location.reload(); return; }
      error.textContent = response.status === 401 ? "That key is not accepted." : "Sign-in failed (" + response.status + ").";
      error.hidden = false;
    }).catch(function () { error.textContent = "The console cannot be reached."; error.hidden = false; });
  });
});
