// Live conversation: a page with [data-socket] receives new messages and typing over a
// WebSocket, and on the shop's side sends the reply box through it. Without JavaScript
// (or while the socket is down) the page works as before: forms post, reloads show all.
(function () {
  'use strict';
  var list = document.querySelector('[data-socket]');
  if (!list || !window.WebSocket) { return; }
  var after = parseInt(list.getAttribute('data-after') || '0', 10);
  var me = list.getAttribute('data-me');
  var typing = document.getElementById('typing');
  var form = document.querySelector('[data-chat-form]');
  var socket = null;
  var retry = 500;
  var typingTimer = null;

  function add(m) {
    if (m.seq <= after) { return; }
    after = m.seq;
    var item = document.createElement('li');
    item.className = 'message ' + (m.author === me ? 'mine' : 'other') + (m.author === 'staff' ? ' staff' : '') + (m.internal ? ' internal' : '');
    var meta = document.createElement('p');
    meta.className = 'meta';
    var who = document.createElement('strong');
    who.textContent = m.author === me && me === 'customer' ? 'You' : (m.author_name || list.getAttribute('data-' + m.author) || m.author);
    meta.appendChild(who);
    meta.appendChild(document.createTextNode(' · ' + m.created_at.replace('T', ' ').slice(0, 16) + (m.internal ? ' · internal note' : '')));
    var body = document.createElement('div');
    body.className = 'body';
    body.textContent = m.body;
    item.appendChild(meta);
    item.appendChild(body);
    list.appendChild(item);
    if (typing) { typing.hidden = true; }
  }

  function connect() {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    socket = new WebSocket(scheme + location.host + list.getAttribute('data-socket') + '&after=' + after);
    socket.onopen = function () { retry = 500; list.setAttribute('data-live', 'yes'); };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === 'message') {
        add(frame);
      } else if (frame.type === 'typing' && typing) {
        typing.hidden = false;
        clearTimeout(typingTimer);
        typingTimer = setTimeout(function () { typing.hidden = true; }, 4000);
      }
    };
    socket.onclose = function () {
      list.removeAttribute('data-live');
      setTimeout(connect, retry);
      retry = Math.min(retry * 2, 10000);
    };
  }
  connect();

  if (form) {
    var box = form.querySelector('textarea');
    var lastTyping = 0;
    form.addEventListener('submit', function (event) {
      if (!socket || socket.readyState !== 1) { return; }
      var text = box.value.trim();
      if (!text) { return; }
      event.preventDefault();
      socket.send(JSON.stringify({ type: 'message', body: text }));
      box.value = '';
    });
    box.addEventListener('input', function () {
      var now = Date.now();
      if (socket && socket.readyState === 1 && now - lastTyping > 2000) {
        lastTyping = now;
        socket.send(JSON.stringify({ type: 'typing' }));
      }
    });
  }
}());
