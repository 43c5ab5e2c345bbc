// Live feedback on a new password: marks each rule of the hint list as
// met or not and rates the strength while the person types, and says
// whether the confirmation matches. Only feedback: the form submits the
// same without this script, and the server checks every rule again.
//
// The page carries the rules: an element with data-password holds the
// limits in data-* attributes and a list of <li data-rule="NAME">, one
// per check below. A rule the server adds gets a check here and an <li>
// in templates/base.html's "new-password-fields".
"use strict";

(function () {
  var checks = {
    "min-runes": function (pw, box) {
      return Array.from(pw).length >= Number(box.dataset.minRunes);
    },
    "max-bytes": function (pw, box) {
      return new TextEncoder().encode(pw).length <= Number(box.dataset.maxBytes);
    }
  };

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

  function attach(box) {
    var input = box.querySelector("input[type=password]");
    var strength = box.querySelector(".strength");
    var rules = box.querySelectorAll("li[data-rule]");
    var confirm = document.getElementById("confirm");
    var status = document.getElementById("confirm-status");

    function update() {
      var pw = input.value;
      var all = true;
      rules.forEach(function (li) {
        var check = checks[li.dataset.rule];
        if (!check) return;
        var met = pw !== "" && check(pw, box);
        all = all && met;
        if (pw === "") {
          delete li.dataset.state;
          var note = li.querySelector(".visually-hidden");
          if (note) note.remove();
        } else {
          mark(li, met);
        }
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
  }

  document.querySelectorAll("[data-password]").forEach(attach);
})();
