// Keeps what a focal point types in the report form in this browser until the server confirms it has it.
// Phones lose the connection mid-submit (the browser's error page replaces the form) and sessions expire (the
// POST lands on the sign-in page): in both cases the text would otherwise be gone. Without this file the form
// works exactly as before; a file, not inline code, because the Content-Security-Policy allows only 'self'.
(function () {
  "use strict";
  var PREFIX = "keep-draft:";
  var FIELDS = ["status", "progress", "narrative", "obstacles", "support_needed"]; // not files: too big, not ours
  var BASIS = ["version", "draft_revision"];

  // Storage may be full or refused (private mode): then the page simply works as without this script.
  function read(key) { try { return JSON.parse(localStorage.getItem(key)); } catch (e) { return null; } }
  function write(key, value) { try { localStorage.setItem(key, JSON.stringify(value)); } catch (e) { /* see above */ } }
  function forget(key) { try { localStorage.removeItem(key); } catch (e) { /* see above */ } }

  // A shared phone: signing out leaves none of this user's unsent text behind (keys carry the user's id).
  var signOut = document.querySelector("form[data-keep-draft-user]");
  if (signOut) {
    signOut.addEventListener("submit", function () {
      var mine = PREFIX + signOut.dataset.keepDraftUser + ":";
      try { Object.keys(localStorage).forEach(function (k) { if (k.indexOf(mine) === 0) forget(k); }); } catch (e) { /* */ }
    });
  }

  var form = document.querySelector("form[data-keep-draft]");
  if (!form) return;
  var key = PREFIX + form.dataset.keepDraft; // "<user id>:<item id>": another account never sees it
  var notice = document.getElementById("keep-draft-notice");

  function values(names) {
    var found = {};
    names.forEach(function (n) { if (form.elements[n]) found[n] = form.elements[n].value; });
    return found;
  }
  function fill(found) {
    Object.keys(found || {}).forEach(function (n) { if (form.elements[n]) form.elements[n].value = found[n]; });
  }
  function keep() { write(key, { fields: values(FIELDS), basis: values(BASIS) }); }

  // Only the page that follows a successful save carries this message: the copy here is no longer needed.
  if (document.querySelector(".messages .report-saved")) forget(key);

  var server = values(FIELDS.concat(BASIS));
  var stored = read(key);
  if (stored && stored.fields && FIELDS.some(function (n) { return n in stored.fields && stored.fields[n] !== server[n]; })) {
    fill(stored.fields);
    // Back to the version and draft revision the text was typed against: if someone reported or changed the
    // draft since, the server refuses the save (409) and shows both, instead of this copy silently winning.
    fill(stored.basis);
    if (notice) notice.hidden = false;
  }

  form.addEventListener("input", keep);
  form.addEventListener("change", keep);
  form.addEventListener("submit", keep); // what the server rendered (a 409's text) is kept too, typed or not

  if (notice) {
    notice.querySelector("button").addEventListener("click", function () {
      fill(server);
      forget(key);
      notice.hidden = true;
      form.elements[FIELDS[0]].focus(); // the button disappears: keep the focus in the form
    });
  }
})();
