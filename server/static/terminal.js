// The browser terminal of one VM's console: xterm.js attached to /v1/vms/{vmid}/console/ws (protocol in
// server/routes/console-ws.ts). Output frames are bytes, written to the terminal as bytes (xterm decodes UTF-8
// across frames); what is typed goes back as input frames. A token for input can be given as #token=... .
(function () {
  'use strict';
  var vmid = Number(location.pathname.split('/').pop());
  var token = new URLSearchParams(location.hash.slice(1)).get('token');
  var status = document.getElementById('status');
  document.title = 'VM ' + vmid + ' console — gunyah-emu';
  document.getElementById('title').textContent = 'VM ' + vmid + ' console';
  document.getElementById('log').href = '/v1/vms/' + vmid + '/console/log';

  var term = new Terminal({ convertEol: false, cursorBlink: true, scrollback: 10000 });
  var fit = new FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(document.getElementById('terminal'));
  fit.fit();
  window.addEventListener('resize', function () { fit.fit(); });

  function setStatus(text, ended) {
    status.textContent = text;
    status.className = ended ? 'ended' : '';
  }

  var query = '?history=65536' + (token ? '&token=' + encodeURIComponent(token) : '');
  var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/vms/' + vmid + '/console/ws' + query;
  var ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  var lost = 0;
  ws.onopen = function () { setStatus('connected', false); term.focus(); };
  ws.onmessage = function (ev) {
    if (typeof ev.data !== 'string') {
      term.write(new Uint8Array(ev.data));
      return;
    }
    var msg = JSON.parse(ev.data);
    if (msg.type === 'lost') {
      lost += msg.lost;
      setStatus('connected (' + lost + ' bytes skipped: too slow)', false);
    } else if (msg.type === 'end') {
      setStatus('console ended: ' + msg.reason + ' (' + msg.status + ')', true);
    } else if (msg.type === 'error') {
      setStatus('input refused: ' + msg.code + ': ' + msg.detail, false);
    }
  };
  ws.onclose = function (ev) {
    if (status.className !== 'ended') setStatus('disconnected' + (ev.reason ? ': ' + ev.reason : ''), true);
  };
  term.onData(function (data) {
    if (ws.readyState === WebSocket.OPEN) ws.send(data);
  });
  term.onBinary(function (data) {
    if (ws.readyState !== WebSocket.OPEN) return;
    var bytes = new Uint8Array(data.length);
    for (var i = 0; i < data.length; i++) bytes[i] = data.charCodeAt(i) & 0xff;
    ws.send(bytes);
  });
  window.gunyahConsole = { term: term, socket: ws };
})();
