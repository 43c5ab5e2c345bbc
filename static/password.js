// Live feedback on a new password: marks each rule of the hint list as
// met or not and rates the strength while the person types, and says
// whether the confirmation matches. Only feedback: the form submits the
// same without this script, and the server checks every rule again.
//
// The page carries the rules: an element with data-password holds the
// limits in data-* attributes and a list of <li data-rule="NAME">, one
// per check below, and data-common says where the server's list of
// common passwords is, fetched at the first key press. A rule the server
// adds gets a check here and an <li> in templates/base.html's
// "new-password-fields".
"use strict";

(function () {
  // Go's unicode.IsSpace, which strings.TrimSpace uses: JavaScript's \s
  // and trim() differ (no U+0085, and U+FEFF besides).
  var onlySpace = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

  // Each check answers true (met), false (not met) or null (not known
  // yet: the common-password list has not arrived). rules holds the
  // page's limits, the user name and that list.
  var checks = {
    "min-runes": function (pw, rules) {
      return Array.from(pw).length >= rules.minRunes;
    },
    "max-bytes": function (pw, rules) {
      return new TextEncoder().encode(pw).length <= rules.maxBytes;
    },
    "not-spaces": function (pw) {
      return !onlySpace.test(pw);
    },
    "distinct": function (pw, rules) {
      return new Set(Array.from(pw)).size >= rules.minDistinct;
    },
    "not-common": function (pw, rules) {
      return rules.common ? !rules.common.has(pw.toLowerCase()) : null;
    },
    "not-name": function (pw, rules) {
      return !closeToName(rules.name(), pw);
    }
  };

  // closeToName is users.closeToName: the password holds the user name,
  // with or without its spaces, or is part of it, ignoring case; a name
  // of under 3 characters says nothing. NFC and lower case stand in for
  // the server's PRECIS mapping, which they match for all but rare names.
  function closeToName(name, pw) {
    var n = name.normalize("NFC").toLowerCase();
    if (Array.from(n).length < 3) return false;
    var p = pw.toLowerCase();
    return p.indexOf(n) >= 0 || n.indexOf(p) >= 0 || p.indexOf(n.replace(/ /g, "")) >= 0;
  }

  var labels = ["", "weak", "fair", "good", "strong"];

  // score rates a password from 1 (weak) to 4 (strong) by a rough
  // estimate of its entropy: the alphabet its characters come from, with
  // repeated characters counted once per run.
  function score(pw) {
    var chars = Array.from(pw);
    var pool = 0;
    if (/[a-z]/.test(pw)) pool += 26;
    if (/[A-Z]/.test(pw)) pool += 26;
    if (/[0-9]/.test(pw)) pool += 10;
    if (/[ -\/:-@\[-`{-~]/.test(pw)) pool += 33;
    if (/[^\x00-\x7f]/.test(pw)) pool += 100;
    var length = 0;
    for (var i = 0; i < chars.length; i++) {
      if (i === 0 || chars[i] !== chars[i - 1]) length++;
    }
    var bits = length * Math.log2(Math.max(pool, 1));
    if (bits < 36) return 1;
    if (bits < 56) return 2;
    if (bits < 76) return 3;
    return 4;
  }

  // setText changes a live region only when its message changes, so that
  // a screen reader announces a new state, not every key press.
  function setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
    el.hidden = text === "";
  }

  function mark(li, met) {
    var state = met ? "met" : "unmet";
    if (li.dataset.state === state) return;
    li.dataset.state = state;
    var note = li.querySelector(".visually-hidden");
    if (!note) {
      note = document.createElement("span");
      note.className = "visually-hidden";
      li.appendChild(note);
    }
    note.textContent = met ? " (met)" : " (not met yet)";
  }

  function clear(li) {
    delete li.dataset.state;
    var note = li.querySelector(".visually-hidden");
    if (note) note.remove();
  }

  function attach(box) {
    var input = box.querySelector("input[type=password]");
    var strength = box.querySelector(".strength");
    var items = box.querySelectorAll("li[data-rule]");
    var confirm = document.getElementById("confirm");
    var status = document.getElementById("confirm-status");
    var form = box.closest("form");
    var nameInput = form && form.querySelector("input[name=username]");
    var rules = {
      minRunes: Number(box.dataset.minRunes),
      maxBytes: Number(box.dataset.maxBytes),
      minDistinct: Number(box.dataset.minDistinct),
      name: function () { return nameInput ? nameInput.value : ""; },
      common: null
    };
    var loading = false;

    // load fetches the common-password list once, at the first key
    // press; if it cannot be had, that rule stays unmarked.
    function load() {
      if (loading || !box.dataset.common) return;
      loading = true;
      fetch(box.dataset.common)
        .then(function (res) {
          if (!res.ok) throw new Error(res.status);
          return res.text();
        })
        .then(function (text) {
          rules.common = new Set(text.split("\n"));
          update();
        })
        .catch(function () {});
    }

    function update() {
      var pw = input.value;
      var all = true;
      if (pw !== "") load();
      items.forEach(function (li) {
        var check = checks[li.dataset.rule];
        if (!check) return;
        var met = pw === "" ? null : check(pw, rules);
        all = all && met !== false;
        if (met === null) clear(li);
        else mark(li, met);
      });
      if (pw === "") {
        setText(strength, "");
        delete strength.dataset.score;
      } else {
        var s = all ? score(pw) : 1;
        strength.dataset.score = String(s);
        setText(strength, "Strength: " + labels[s] + (s < 3 ? ". Longer is stronger: try a few unrelated words." : "."));
      }
      if (confirm && status) {
        if (confirm.value === "") setText(status, "");
        else setText(status, confirm.value === pw ? "The passwords match." : "The passwords do not match yet.");
      }
    }

    input.addEventListener("input", update);
    if (confirm) confirm.addEventListener("input", update);
    if (nameInput) nameInput.addEventListener("input", update);
  }

  document.querySelectorAll("[data-password]").forEach(attach);
})();
