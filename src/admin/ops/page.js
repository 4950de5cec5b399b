
// Reloads the figures every data-refresh-ms: fetches this same page and swaps its <main>, so
// the server renders (and escapes) everything and this script only moves nodes. It asks
// location.origin + location.pathname, never the user:password@ form of the address, which
// fetch refuses; the browser resends the credentials it signed in with.
(function () {
  'use strict';
  var body = document.body;
  var every = Number(body.getAttribute('data-refresh-ms')) || 5000;
  var live = document.getElementById('live');
  var url = location.origin + location.pathname;
  var refreshes = 0;
  var failingSince = null;

  function say(text, stale) {
    live.textContent = text;
    live.className = stale ? 'stale' : 'fresh';
  }

  function clock(d) {
    return d.toLocaleTimeString();
  }

  function swap(html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var next = doc.getElementById('ops');
    var current = document.getElementById('ops');
    if (!next || !current) {
      throw new Error('unexpected answer');
    }
    current.replaceWith(document.importNode(next, true));
    document.title = doc.title;
  }

  function refresh() {
    if (document.hidden) {
      setTimeout(refresh, every);
      return;
    }
    fetch(url, { cache: 'no-store', credentials: 'same-origin' })
      .then(function (r) {
        if (!r.ok) {
          throw new Error('HTTP ' + r.status + (r.status === 401 ? ': reload to sign in' : ''));
        }
        return r.text();
      })
      .then(function (html) {
        swap(html);
        refreshes += 1;
        body.setAttribute('data-refreshes', String(refreshes));
        failingSince = null;
        say('live: updated ' + clock(new Date()), false);
      })
      .catch(function (e) {
        failingSince = failingSince || new Date();
        say('stale since ' + clock(failingSince) + ' (' + e.message + ')', true);
      })
      .then(function () {
        setTimeout(refresh, every);
      });
  }

  say('live: every ' + every / 1000 + ' s', false);
  setTimeout(refresh, every);
})();
