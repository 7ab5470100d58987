"""The Vue side of ``upload.DatasetUpload``, shipped in the package (nothing is fetched at run time).

The script reads the chosen file with ``File.slice`` and PATCHes each slice to
the signed URL the kernel got for it (``XMLHttpRequest``, for upload progress);
it asks the kernel (``this.begin``, ``this.renew``, ...) only for what needs the
user's token. ``localStorage`` keeps ``{id}`` under ``mlk-upload:<name>:<size>:
<lastModified>`` until the upload is stored or cancelled, which is what a reload
resumes from. The kernel answers with custom messages (``jupyter_go``, ...).
"""

TEMPLATE = r"""
<template>
  <div class="mlk-upload">
    <div class="d-flex align-center flex-wrap ga-3">
      <input ref="file" type="file" class="mlk-upload-file" :disabled="sending" @change="pick" />
      <v-text-field
        v-model="dataset_name"
        class="mlk-upload-name"
        label="Dataset name"
        density="compact"
        variant="outlined"
        hide-details
        style="max-width: 320px; min-width: 200px"
        :disabled="sending"
      ></v-text-field>
      <v-btn
        class="mlk-upload-start"
        color="primary"
        prepend-icon="mdi-upload"
        :disabled="!hasFile || sending || busy || !dataset_name.trim()"
        @click="start"
      >{{ phase === 'uploaded' ? 'Store again' : 'Upload' }}</v-btn>
      <v-btn v-if="sending" class="mlk-upload-cancel" variant="text" color="error" @click="stop"
        >Cancel</v-btn>
    </div>
    <div v-if="pending && !sending" class="text-caption text-medium-emphasis mt-1 mlk-upload-pending">
      {{ pending }}
    </div>
    <div v-if="total && (sending || sent)" class="mt-2">
      <v-progress-linear
        :model-value="percent" height="8" rounded color="primary" class="mlk-upload-bar"
      ></v-progress-linear>
      <div
        class="text-caption mt-1 mlk-upload-status"
        :data-sent="sent"
        :data-acked="acked"
        :data-total="total"
        :data-resumed-at="resumedAt === null ? '' : resumedAt"
        :data-sent-here="sentHere"
      >{{ statusLine }}</div>
    </div>
    <div v-if="note" class="text-caption mt-1 mlk-upload-note">{{ note }}</div>
    <div v-if="result && !sending" class="text-body-2 mt-1 mlk-upload-result">{{ result }}</div>
    <mlk-notice></mlk-notice>
  </div>
</template>

<script>
const PREFIX = 'mlk-upload:';

function size(n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : String(n)) + ' ' + units[i];
}

function duration(s) {
  if (!isFinite(s)) return '';
  if (s < 60) return Math.ceil(s) + ' s';
  if (s < 3600) return Math.round(s / 60) + ' min';
  return (s / 3600).toFixed(1) + ' h';
}

export default {
  data() {
    return {
      hasFile: false, sending: false, sent: 0, acked: 0, total: 0, rate: 0,
      resumedAt: null, sentHere: 0, note: '', pending: '', uploadId: null, url: '',
    };
  },
  mounted() { this.showPending(); },
  beforeUnmount() { if (this.xhr) this.xhr.abort(); },
  computed: {
    percent() { return this.total ? (100 * this.sent) / this.total : 0; },
    statusLine() {
      let line = size(this.sent) + ' of ' + size(this.total) + ' (' + this.percent.toFixed(0) + '%)';
      if (this.sending && this.rate > 0) {
        line += ' · ' + size(this.rate) + '/s · ' + duration((this.total - this.sent) / this.rate) + ' left';
      }
      if (this.resumedAt !== null && this.resumedAt > 0) line += ' · resumed at ' + size(this.resumedAt);
      return line;
    },
  },
  methods: {
    file() { const el = this.$refs.file; return el && el.files && el.files.length ? el.files[0] : null; },
    keyOf(f) { return PREFIX + f.name + ':' + f.size + ':' + f.lastModified; },
    stored(f) {
      try {
        return JSON.parse(window.localStorage.getItem(this.keyOf(f)) || 'null');
      } catch (e) {
        return null;
      }
    },
    forget() { if (this.storeKey) window.localStorage.removeItem(this.storeKey); this.showPending(); },
    showPending() {
      const names = [];
      for (let i = 0; i < window.localStorage.length; i++) {
        const key = window.localStorage.key(i);
        if (key && key.startsWith(PREFIX)) {
          const parts = key.slice(PREFIX.length).split(':');
          parts.pop();
          const bytes = Number(parts.pop());
          names.push(parts.join(':') + ' (' + size(bytes) + ')');
        }
      }
      this.pending = names.length
        ? 'Unfinished upload of ' + names.join(', ')
          + ': pick the same file again to continue where it stopped.'
        : '';
    },
    pick() {
      const f = this.file();
      this.hasFile = !!f;
      this.note = '';
      if (!f) return;
      this.total = f.size; this.sent = 0; this.acked = 0; this.resumedAt = null; this.sentHere = 0;
      const before = this.stored(f);
      if (before) this.note = 'This file was being uploaded before: Upload continues where it stopped.';
      this.chosen({ name: f.name, size: f.size });
    },
    start() {
      const f = this.file();
      if (!f) return;
      const before = this.stored(f);
      this.sending = true;
      this.note = '';
      this.storeKey = this.keyOf(f);
      const resume = before ? before.id : null;
      this.begin({ name: f.name, size: f.size, last_modified: f.lastModified, resume: resume });
    },
    jupyter_go(info) {
      const f = this.file();
      if (!f || !this.sending) return;
      this.uploadId = info.id;
      this.url = info.url;
      this.acked = info.offset;
      this.sent = info.offset;
      if (this.resumedAt === null) this.resumedAt = info.resumed ? info.offset : 0;
      if (info.note) this.note = info.note;
      this.renewals = (this.renewals || 0);
      window.localStorage.setItem(this.storeKey, JSON.stringify({ id: info.id, at: Date.now() }));
      this.clockStart = performance.now();
      this.clockBytes = info.offset;
      this.next();
    },
    next() {
      const f = this.file();
      if (!this.sending || !f) return;
      if (this.acked >= f.size) {
        this.sent = this.acked;
        this.report(true);
        this.finished({ id: this.uploadId, received: this.acked });
        this.sending = false;
        return;
      }
      const from = this.acked;
      const end = Math.min(from + this.chunk_bytes, f.size);
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open('PATCH', this.url + '&offset=' + from);
      xhr.setRequestHeader('Content-Type', 'application/octet-stream');
      xhr.upload.onprogress = (e) => { if (this.xhr === xhr) { this.sent = from + e.loaded; this.tick(); } };
      xhr.onload = () => { if (this.xhr === xhr) this.answered(xhr, from); };
      xhr.onerror = () => { if (this.xhr === xhr) this.dropped('the connection to the service dropped'); };
      xhr.send(f.slice(from, end));
    },
    answer(xhr) { try { return JSON.parse(xhr.responseText); } catch (e) { return {}; } },
    answered(xhr, from) {
      const body = this.answer(xhr);
      if (xhr.status === 200) {
        this.sentHere += body.received - from;
        this.acked = body.received;
        this.sent = this.acked;
        this.retries = 0;
        this.renewals = 0;
        this.next();
      } else if (xhr.status === 409 && typeof body.expected_offset === 'number') {
        this.acked = body.expected_offset;
        this.sent = this.acked;
        this.next();
      } else if (xhr.status === 403 && (this.renewals || 0) < 2) {
        this.renewals = (this.renewals || 0) + 1;  // the signed URL expired: ask for a new one
        this.renew({ id: this.uploadId });
      } else if (xhr.status >= 500 || xhr.status === 0 || xhr.status === 409) {
        // 409 without an offset: the service still finishes the request the page lost
        this.dropped('the service answered ' + xhr.status);
      } else {
        this.sending = false;
        if (xhr.status === 404) this.forget();
        const why = typeof body.detail === 'string' ? body.detail : xhr.statusText;
        this.failed({ message: 'The service refused the upload (' + xhr.status + '): ' + why });
      }
    },
    dropped(why) {
      if (!this.sending) return;
      this.retries = (this.retries || 0) + 1;
      const wait = Math.min(30, 2 ** Math.min(this.retries - 1, 5));
      this.note = 'Upload paused: ' + why + '. Trying again in ' + wait + ' s (nothing sent is lost).';
      this.xhr = null;
      this.retryTimer = setTimeout(() => { this.note = ''; this.next(); }, wait * 1000);
    },
    tick() {
      const now = performance.now();
      const seconds = (now - this.clockStart) / 1000;
      if (seconds > 0.5) this.rate = (this.sent - this.clockBytes) / seconds;
      this.report(false);
    },
    report(force) {
      const now = performance.now();
      if (!force && this.lastReport && now - this.lastReport < 1000) return;
      this.lastReport = now;
      this.progress({ sent: this.sent, acked: this.acked, total: this.total, rate: this.rate,
                      resumed_at: this.resumedAt, sent_here: this.sentHere });
    },
    stop() {
      this.sending = false;
      if (this.retryTimer) clearTimeout(this.retryTimer);
      if (this.xhr) { const xhr = this.xhr; this.xhr = null; xhr.abort(); }
      this.forget();
      this.sent = 0; this.acked = 0; this.note = '';
      this.cancel({ id: this.uploadId });
    },
    jupyter_stored() { this.forget(); this.sending = false; this.note = ''; },
    jupyter_failed() { this.sending = false; },
  },
};
</script>
"""
