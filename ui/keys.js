// Passkey Enroll UI: the "Security keys" page (any CTAP2 key over USB or NFC).
// Presentation only: every operation is one `invoke` of a command in src-tauri/src/keys_page.rs,
// which opens the key afresh for that operation. Loaded after main.js and independent of it:
// - the page shows itself (hides the other views, sets body[data-view]="keys") and hides itself
//   whenever main.js shows another view (it watches body[data-view]);
// - it shares the PIN and confirmation dialogs' markup. The PIN dialog's Cancel button and Escape
//   are handled by main.js (they answer `answer_pin` with null, which cancels on the key); this
//   file handles the dialog's submit while one of its own operations asks for a PIN.
'use strict';

(() => {
  const { invoke, Channel } = window.__TAURI__.core;
  const S = window.STRINGS;

  const $ = (id) => document.getElementById(id);

  function t(path, params) {
    const value = path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), S);
    if (typeof value !== 'string') return path;
    return value.replace(/\{(\w+)\}/g, (m, k) => (params && k in params ? String(params[k]) : m));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (v === undefined || v === null || v === false) return;
      if (k === 'text') node.textContent = v;
      else if (k === 'dataset') Object.assign(node.dataset, v);
      else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v === true ? '' : v);
    });
    children.forEach((c) => node.append(c));
    return node;
  }

  /** The page's wording for an error (its own texts first, then the app's), and the detail. */
  function showError(err) {
    const box = $('keys-error');
    let code = 'internal';
    let text = S.errors.generic;
    let detail = String(err);
    if (err && typeof err === 'object' && err.code) {
      code = err.code;
      detail = err.message || '';
      text = S.keys.errors[code] || S.errors[code] || S.errors.generic;
      if (code === 'pin_invalid') {
        const attempts = err.attemptsLeft == null ? '' : t('errors.pin_invalid_attempts', { count: err.attemptsLeft });
        text = t('errors.pin_invalid', { attempts }).trim();
      }
      if (code === 'cancelled') { text = t('keys.cancelled'); detail = ''; }
    }
    box.replaceChildren(
      el('p', { class: 'error-text', text }),
      detail ? el('details', {}, el('summary', { text: t('wizard.details') }),
        el('p', { class: 'error-detail', text: detail })) : '',
    );
    box.dataset.code = code;
    box.hidden = false;
  }

  function clearError() {
    $('keys-error').hidden = true;
    $('keys-error').replaceChildren();
    delete $('keys-error').dataset.code;
  }

  function status(text) { $('keys-status').textContent = text || ''; }

  // ---------- state ----------

  const page = {
    visible: false,
    before: null, // the view to go back to
    keys: [], // list_keys
    signature: null, // of the last rendered key list
    selected: null, // the chosen key's id (key:N) and what it was: { id, aaguid, transport }
    report: null, // key_info
    creds: null, // key_credentials
    running: false,
    pinPurpose: null, // 'set' or 'change' while a PIN operation runs
    count: -1, // keys attached, as last announced
    poll: { timer: null, inFlight: Promise.resolve() },
  };

  // ---------- showing and hiding the page ----------

  function showPage() {
    const current = document.body.dataset.view;
    if (current !== 'keys') page.before = current || 'start';
    document.querySelectorAll('main > section.view').forEach((v) => { v.hidden = v.id !== 'view-keys'; });
    document.body.dataset.view = 'keys';
    enterPage();
    $('keys-title').focus();
  }

  function enterPage() {
    $('view-keys').hidden = false;
    if (page.visible) return;
    page.visible = true;
    clearError();
    page.signature = null;
    page.count = -1;
    status(t('keys.looking'));
    startPoll(0);
  }

  function leavePage() {
    if (!page.visible) return;
    page.visible = false;
    $('view-keys').hidden = true;
    stopPoll();
    if (page.running) invoke('cancel');
  }

  // main.js shows its views by setting body[data-view]; follow it.
  new MutationObserver(() => {
    if (document.body.dataset.view === 'keys') enterPage();
    else leavePage();
  }).observe(document.body, { attributes: true, attributeFilter: ['data-view'] });

  function goBack() {
    const before = page.before && $(`view-${page.before}`) ? page.before : 'start';
    leavePage();
    $(`view-${before}`).hidden = false;
    document.body.dataset.view = before;
    const h1 = document.querySelector(`#view-${before} h1`);
    if (h1) h1.focus();
  }

  $('btn-keys').addEventListener('click', showPage);
  $('btn-keys-footer').addEventListener('click', showPage);
  $('btn-keys-back').addEventListener('click', goBack);

  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || !page.visible) return;
    if ($('confirm-dialog').open || $('pin-dialog').open) return;
    if (page.running) invoke('cancel');
    else goBack();
  });

  // ---------- attached keys (polled like the wizard's chooser) ----------

  function startPoll(delay) {
    stopPoll();
    if (!page.visible || page.running) return;
    page.poll.timer = setTimeout(pollOnce, delay);
  }

  function stopPoll() {
    if (page.poll.timer !== null) clearTimeout(page.poll.timer);
    page.poll.timer = null;
  }

  function pollOnce() {
    page.poll.timer = null;
    page.poll.inFlight = (async () => {
      try {
        const keys = await invoke('list_keys');
        if (page.visible && !page.running) renderKeys(keys);
      } catch (e) {
        if (page.visible && !page.running) { renderKeys([]); showError(e); }
      }
    })();
    page.poll.inFlight.then(() => startPoll(1000));
  }

  const sig = (k) => `${k.id}|${k.key ? k.key.aaguid : ''}|${k.key ? k.key.transport : ''}|${k.key ? k.key.pin : ''}`;

  /** No key listed: say why when the system knows (a key this user may not open, pcscd not
   *  running), with what to install or run; otherwise the general hint. */
  function showAccessProblems() {
    invoke('device_access').then((problems) => {
      const denied = problems.filter((p) => p.kind === 'hidPermissionDenied');
      const others = problems.filter((p) => p.kind !== 'hidPermissionDenied');
      $('keys-empty-hint').textContent = [
        ...(denied.length ? denied.map((p) => p.message) : [t('keys.emptyHint')]),
        ...others.map((p) => p.message),
      ].join(' ');
    }).catch(() => {});
  }

  function renderKeys(keys) {
    const signature = keys.map(sig).join(',');
    if (signature === page.signature) return;
    page.signature = signature;
    page.keys = keys;
    $('keys-empty').hidden = keys.length > 0;
    $('keys-picker').hidden = keys.length === 0;
    if (keys.length === 0) showAccessProblems();
    if (keys.length !== page.count) {
      page.count = keys.length;
      status(keys.length === 0 ? '' : (keys.length === 1 ? t('keys.countOne') : t('keys.count', { count: keys.length })));
    }
    if (keys.length > 0 && $('keys-error').dataset.code === 'authenticator_not_found') clearError();
    const still = page.selected && keys.find((k) => k.id === page.selected.id
      && k.key && k.key.aaguid === page.selected.aaguid && k.key.transport === page.selected.transport);
    if (page.selected && !still) {
      page.selected = null;
      hidePanel();
      status(t('keys.gone'));
    }
    const box = $('keys-choices');
    const hadFocus = box.contains(document.activeElement);
    box.replaceChildren(...keys.map((k) => {
      const id = `keys-choice-${k.id.replace(':', '-')}`;
      const summary = k.key || {};
      const input = el('input', {
        type: 'radio', name: 'security-key', id, value: k.id,
        checked: Boolean(page.selected && page.selected.id === k.id),
        onchange: () => selectKey(k),
      });
      return el('div', { class: 'choice', dataset: { key: k.id } }, input,
        el('label', { for: id },
          el('span', { class: 'strong', text: t('keys.keyChoice', { model: k.info.model, transport: (summary.transport || '').toUpperCase() }) }),
          el('span', { class: 'muted small', text: pinText(summary.pin) })));
    }));
    if (hadFocus) { const c = box.querySelector('input:checked') || box.querySelector('input'); if (c) c.focus(); }
    if (!page.selected && keys.length === 1) selectKey(keys[0]);
  }

  function pinText(pin) {
    return `${t('keys.info.pin')}: ${{ set: t('keys.pinSetNoCount'), 'not set': t('keys.pinNotSet') }[pin] || t('keys.pinUnsupported')}`;
  }

  // ---------- running one operation on the key ----------

  /** Runs `cmd` on the chosen key with `args`; prompts (PIN, touch) are handled here. */
  async function onKey(button, cmd, args, withPrompt) {
    if (page.running || !page.selected) return undefined;
    page.running = true;
    stopPoll();
    await page.poll.inFlight; // never open a key twice at once
    clearError();
    $('keys-op-text').textContent = t('keys.working');
    $('keys-op').hidden = false;
    setBusy(true, button);
    const call = { key: page.selected.id, ...args };
    let done = false;
    if (withPrompt) {
      call.onPrompt = new Channel();
      call.onPrompt.onmessage = (p) => { if (!done) handlePrompt(p); };
    }
    try {
      return await invoke(cmd, call);
    } finally {
      done = true;
      if ($('pin-dialog').open) closePin();
      $('keys-op').hidden = true;
      setBusy(false, button);
      page.running = false;
      page.signature = null; // re-render: the PIN state may have changed
      startPoll(300);
    }
  }

  function setBusy(on, button) {
    $('key-panel').querySelectorAll('button, input').forEach((b) => { b.disabled = on; });
    $('keys-choices').querySelectorAll('input').forEach((b) => { b.disabled = on; });
    if (button) { if (on) button.setAttribute('aria-busy', 'true'); else button.removeAttribute('aria-busy'); }
    if (!on) updateResetButton();
  }

  function handlePrompt(p) {
    switch (p.prompt) {
      case 'pin': openPin(p.request); break;
      case 'touch': $('keys-op-text').textContent = t('wizard.prompt.touch'); break;
      case 'touchToSelect': $('keys-op-text').textContent = t('wizard.prompt.touchToSelect'); break;
      case 'notice': {
        const n = p.notice || {};
        if (['processing', 'useBuiltInVerification', 'fallingBackToPin', 'pinRejected', 'pinSet'].includes(n.kind)) {
          $('keys-op-text').textContent = t(`wizard.prompt.${n.kind}`, { reason: n.reason || '' });
        }
        break;
      }
      default: break;
    }
  }

  $('keys-op-cancel').addEventListener('click', () => invoke('cancel'));

  // ---------- the PIN dialog (shared markup; Cancel and Escape are main.js's) ----------

  let pinRequest = null;

  function openPin(request) {
    pinRequest = request;
    const enter = request.kind === 'enter';
    const min = Math.max(4, request.minLength || 4);
    const changing = page.pinPurpose === 'change';
    $('pin-title').textContent = enter
      ? (changing ? t('keys.pinCurrentTitle') : t('pin.enterTitle'))
      : (changing ? t('keys.pinNewTitle') : t('pin.setTitle'));
    $('pin-text').textContent = enter
      ? (request.afterWrongPin ? t('pin.wrongText') : (changing ? t('keys.pinCurrentText') : t('pin.enterText')))
      : (changing ? t('keys.pinNewText') : t('pin.setText'));
    const left = request.attemptsLeft;
    $('pin-attempts').hidden = !(enter && left != null);
    if (enter && left != null) {
      $('pin-attempts').textContent = left === 1 ? t('pin.attemptsLeftOne') : t('pin.attemptsLeft', { count: left });
    }
    $('pin-label').textContent = t(enter ? 'pin.pinLabel' : 'pin.newPinLabel');
    $('pin-hint').textContent = enter ? '' : t('pin.minLength', { min });
    $('pin-input').setAttribute('autocomplete', enter ? 'off' : 'new-password');
    $('pin-confirm-field').hidden = enter;
    $('pin-input').value = '';
    $('pin-confirm').value = '';
    $('pin-error').hidden = true;
    $('pin-error').replaceChildren();
    $('keys-op-text').textContent = t('wizard.prompt.pin');
    if (!$('pin-dialog').open) $('pin-dialog').showModal();
    $('pin-input').focus();
  }

  function closePin() {
    $('pin-input').value = '';
    $('pin-confirm').value = '';
    pinRequest = null;
    if ($('pin-dialog').open) $('pin-dialog').close();
  }

  // Closed by main.js (Cancel, Escape): this page's request is over too.
  $('pin-dialog').addEventListener('close', () => { pinRequest = null; });

  function pinProblem(text) {
    $('pin-error').replaceChildren(el('p', { class: 'error-text', text }));
    $('pin-error').hidden = false;
    $('pin-input').focus();
  }

  $('pin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!pinRequest || !page.running) return; // main.js's own request
    const pin = $('pin-input').value;
    if (!pin) { pinProblem(t('pin.empty')); return; }
    if (pinRequest.kind !== 'enter') {
      const min = Math.max(4, pinRequest.minLength || 4);
      if ([...pin].length < min) { pinProblem(t('pin.tooShort', { min })); return; }
      if (new TextEncoder().encode(pin).length > 63) { pinProblem(t('pin.tooLong')); return; }
      if (pin !== $('pin-confirm').value) { $('pin-confirm').value = ''; pinProblem(t('pin.mismatch')); return; }
    }
    closePin();
    $('keys-op-text').textContent = t('keys.working');
    invoke('answer_pin', { pin }).catch(() => { /* the key stopped asking meanwhile */ });
  });

  // ---------- confirmation (shared markup) ----------

  function confirmDanger(title, text, okLabel) {
    const dialog = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel;
    return new Promise((resolve) => {
      dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true });
      dialog.returnValue = 'cancel';
      dialog.showModal();
      $('confirm-cancel').focus();
    });
  }

  // ---------- the chosen key ----------

  function hidePanel() {
    $('key-panel').hidden = true;
    page.report = null;
    page.creds = null;
  }

  async function selectKey(k) {
    page.selected = { id: k.id, aaguid: k.key && k.key.aaguid, transport: k.key && k.key.transport };
    const radio = document.querySelector(`#keys-choices input[value="${k.id}"]`);
    if (radio) radio.checked = true;
    $('key-creds').replaceChildren();
    $('key-creds-compared').textContent = '';
    $('key-orphans-delete').hidden = true;
    $('key-fps').replaceChildren();
    $('key-fp-sample').textContent = '';
    $('key-reset-step').hidden = true;
    $('key-reset-word').value = '';
    await loadInfo();
  }

  async function loadInfo(button) {
    status(t('keys.loadingInfo'));
    try {
      page.report = await onKey(button, 'key_info', {}, false);
      if (page.report) renderInfo(page.report);
      status('');
    } catch (e) {
      status('');
      showError(e);
    }
  }

  function fact(label, value) {
    return [el('dt', { text: label }), el('dd', { text: value == null || value === '' ? t('keys.info.unknown') : String(value) })];
  }

  function pinStateText(r) {
    if (r.pin === 'not set') return t('keys.pinNotSet');
    if (r.pin !== 'set') return t('keys.pinUnsupported');
    if (r.pinRetries === 0) return t('keys.pinBlocked');
    if (r.pinPowerCycleRequired) return t('keys.pinReinsert');
    if (r.pinRetries == null) return t('keys.pinSetNoCount');
    return r.pinRetries === 1 ? t('keys.pinSetOne') : t('keys.pinSet', { count: r.pinRetries });
  }

  function slotsText(r, slots) {
    if (!r.supports.discoverable) return t('keys.slotsNone');
    if (slots) return t('keys.slotsUsed', { used: slots.used, remaining: slots.remaining });
    if (r.remainingDiscoverable != null) return t('keys.slotsRoom', { remaining: r.remainingDiscoverable });
    return null;
  }

  function renderInfo(r) {
    const uv = { enrolled: r.uvRetries != null ? t('keys.uvEnrolledLeft', { count: r.uvRetries }) : t('keys.uvEnrolled'), 'not enrolled': t('keys.uvNotEnrolled') }[r.builtInUv] || t('keys.uvUnsupported');
    $('key-info').replaceChildren(
      ...fact(t('keys.info.model'), r.model),
      ...fact(t('keys.info.aaguid'), r.aaguid),
      ...fact(t('keys.info.firmware'), r.firmwareVersion),
      ...fact(t('keys.info.versions'), r.versions.join(', ')),
      ...fact(t('keys.info.transports'), r.transports.join(', ')),
      ...fact(t('keys.info.connected'), r.transport.toUpperCase()),
      ...fact(t('keys.info.pin'), pinStateText(r)),
      ...fact(t('keys.info.uv'), uv),
      ...fact(t('keys.info.alwaysUv'), r.supports.alwaysUv ? t(r.alwaysUv ? 'keys.on' : 'keys.off') : t('keys.notSupported')),
      ...fact(t('keys.info.minPin'), t('keys.minPinValue', { min: r.minPinLength })),
      ...fact(t('keys.info.slots'), slotsText(r, page.creds && page.creds.slots)),
    );
    $('key-force-pin').hidden = !r.forcePinChange;
    $('key-set-pin').hidden = r.pin !== 'not set';
    $('key-change-pin').hidden = r.pin !== 'set';
    const blocked = r.pin === 'set' && (r.pinRetries === 0 || r.pinPowerCycleRequired);
    $('key-pin-blocked').hidden = !blocked;
    $('key-pin-blocked').textContent = !blocked ? '' : t(r.pinRetries === 0 ? 'keys.pinBlockedText' : 'keys.pinReinsertText');
    $('key-change-pin').hidden = r.pin !== 'set' || blocked;
    $('key-creds-card').hidden = !r.supports.credentialManagement;
    $('key-fp-card').hidden = !r.supports.fingerprints;
    $('key-panel').hidden = false;
  }

  $('key-refresh').addEventListener('click', () => loadInfo($('key-refresh')));

  $('key-wink').addEventListener('click', async () => {
    try {
      await onKey($('key-wink'), 'key_wink', {}, false);
      status(t('keys.winked'));
    } catch (e) { showError(e); }
  });

  // ---------- PIN ----------

  async function pinOperation(button, cmd, purpose, doneText) {
    page.pinPurpose = purpose;
    try {
      await onKey(button, cmd, {}, true);
      status(t(doneText));
      await loadInfo();
    } catch (e) {
      showError(e);
      await loadInfo();
    } finally {
      page.pinPurpose = null;
    }
  }

  $('key-set-pin').addEventListener('click', () => pinOperation($('key-set-pin'), 'key_set_pin', 'set', 'keys.pinWasSet'));
  $('key-change-pin').addEventListener('click', () => pinOperation($('key-change-pin'), 'key_change_pin', 'change', 'keys.pinChanged'));

  // ---------- passkeys stored on the key ----------

  const userOf = (c) => c.userName || c.userDisplayName || t('keys.credsNoName');

  function renderCreds() {
    const data = page.creds;
    const box = $('key-creds');
    box.replaceChildren();
    if (!data) return;
    $('key-creds-compared').textContent = data.comparedWith
      ? t('keys.credsCompared', { instance: data.comparedWith }) : t('keys.credsNotCompared');
    if (data.sites.length === 0) box.append(el('p', { class: 'muted', text: t('keys.credsNone') }));
    data.sites.forEach((site) => {
      const list = el('ul', { class: 'list' });
      site.credentials.forEach((c) => {
        const standing = c.zitadel && c.zitadel.status;
        const badge = ['known', 'orphan', 'unknown'].includes(standing)
          ? el('span', {
            class: `badge ${standing}`, text: t(`keys.standing.${standing}`),
            title: standing === 'unknown' ? t('keys.standing.unknownHint') : (c.zitadel.reason || null),
          }) : '';
        const del = el('button', {
          type: 'button', class: 'danger-quiet', text: t('keys.credsDelete'),
          'aria-label': t('keys.credsDeleteLabel', { site: site.rpId, user: userOf(c) }),
          onclick: () => deleteCredential(site, c, del),
        });
        list.append(el('li', { class: 'row', dataset: { id: c.id, standing: standing || 'none' } },
          el('div', { class: 'grow' },
            el('div', { class: 'strong', text: userOf(c) }),
            c.userDisplayName && c.userName ? el('div', { class: 'muted small', text: c.userDisplayName }) : ''),
          badge, del));
      });
      box.append(el('div', { class: 'site', dataset: { rpId: site.rpId } },
        el('h3', { text: site.name && site.name !== site.rpId ? `${site.rpId} (${site.name})` : site.rpId }), list));
    });
    $('key-orphans-delete').hidden = orphans().length === 0;
    if (page.report) renderInfo(page.report);
  }

  function orphans() {
    if (!page.creds) return [];
    return page.creds.sites.flatMap((s) => s.credentials
      .filter((c) => c.zitadel && c.zitadel.status === 'orphan')
      .map((c) => ({ site: s.rpId, c })));
  }

  function forget(ids) {
    page.creds.sites.forEach((s) => { s.credentials = s.credentials.filter((c) => !ids.includes(c.id)); });
    page.creds.sites = page.creds.sites.filter((s) => s.credentials.length > 0);
    if (page.creds.slots) {
      page.creds.slots = { used: page.creds.slots.used - ids.length, remaining: page.creds.slots.remaining + ids.length };
    }
    renderCreds();
  }

  $('key-creds-show').addEventListener('click', async () => {
    try {
      page.creds = await onKey($('key-creds-show'), 'key_credentials', {}, true);
      renderCreds();
    } catch (e) { showError(e); }
  });

  async function deleteCredential(site, c, button) {
    const user = userOf(c);
    const ok = await confirmDanger(t('keys.deleteTitle', { site: site.rpId }),
      t('keys.deleteText', { site: site.rpId, user }), t('keys.deleteOk'));
    if (!ok) { button.focus(); return; }
    try {
      await onKey(button, 'key_delete_credential', { id: c.id }, true);
      forget([c.id]);
      status(t('keys.credsDeleted', { site: site.rpId }));
    } catch (e) { showError(e); }
  }

  $('key-orphans-delete').addEventListener('click', async () => {
    const list = orphans();
    if (list.length === 0) return;
    const names = list.map((o) => `${o.site} (${userOf(o.c)})`).join(', ');
    const ok = await confirmDanger(t('keys.orphansTitle', { count: list.length }),
      t('keys.orphansText', { list: names }), t('keys.deleteOk'));
    if (!ok) return;
    try {
      const deleted = await onKey($('key-orphans-delete'), 'key_delete_orphans', { ids: list.map((o) => o.c.id) }, true);
      forget(deleted);
      status(deleted.length === 1 ? t('keys.orphansDeletedOne') : t('keys.orphansDeleted', { count: deleted.length }));
    } catch (e) { showError(e); }
  });

  // ---------- fingerprints ----------

  let fingerprints = [];

  function renderFingerprints() {
    const list = $('key-fps');
    list.replaceChildren();
    if (fingerprints.length === 0) list.append(el('li', { class: 'muted', text: t('keys.fpNone') }));
    fingerprints.forEach((f) => {
      const name = f.name || t('keys.fpNoName');
      const row = el('li', { class: 'row', dataset: { id: f.id } });
      const rename = el('button', {
        type: 'button', text: t('keys.fpRename'), 'aria-label': t('keys.fpRenameLabel', { name }),
        onclick: () => startRename(row, f),
      });
      const remove = el('button', {
        type: 'button', class: 'danger-quiet', text: t('keys.fpRemove'), 'aria-label': t('keys.fpRemoveLabel', { name }),
        onclick: () => removeFingerprint(f, remove),
      });
      row.append(el('div', { class: 'grow strong', text: name }), rename, remove);
      list.append(row);
    });
  }

  function startRename(row, f) {
    const input = el('input', { type: 'text', maxlength: '15', value: f.name || '', 'aria-label': t('keys.fpNewName') });
    const form = el('form', { class: 'rename', novalidate: true },
      input, el('button', { type: 'submit', class: 'primary', text: t('keys.fpSave') }));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const name = input.value.trim();
      if (!name) { input.focus(); return; }
      try {
        await onKey(null, 'key_rename_fingerprint', { id: f.id, name }, true);
        f.name = name;
        status(t('keys.fpRenamed'));
      } catch (e) { showError(e); }
      renderFingerprints();
    });
    row.replaceChildren(form);
    input.focus();
  }

  async function removeFingerprint(f, button) {
    const name = f.name || t('keys.fpNoName');
    const ok = await confirmDanger(t('keys.fpRemoveTitle', { name }), t('keys.fpRemoveText'), t('keys.fpRemoveOk'));
    if (!ok) { button.focus(); return; }
    try {
      await onKey(button, 'key_remove_fingerprint', { id: f.id }, true);
      fingerprints = fingerprints.filter((x) => x.id !== f.id);
      renderFingerprints();
      status(t('keys.fpRemoved'));
    } catch (e) { showError(e); }
  }

  $('key-fp-show').addEventListener('click', async () => {
    try {
      fingerprints = await onKey($('key-fp-show'), 'key_fingerprints', {}, true) || [];
      renderFingerprints();
    } catch (e) { showError(e); }
  });

  $('key-fp-enroll').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('key-fp-name').value.trim() || null;
    const onSample = new Channel();
    onSample.onmessage = (s) => {
      $('key-fp-sample').textContent = t('keys.fpSample', { feedback: s.feedback, remaining: s.remaining });
      $('keys-op-text').textContent = t('keys.fpEnrollStart');
    };
    $('key-fp-sample').textContent = t('keys.fpEnrollStart');
    try {
      const fp = await onKey($('key-fp-enroll-button'), 'key_enroll_fingerprint', { name, onSample }, true);
      if (fp) { fingerprints.push(fp); renderFingerprints(); }
      $('key-fp-name').value = '';
      $('key-fp-sample').textContent = t('keys.fpEnrolled');
    } catch (e) {
      $('key-fp-sample').textContent = '';
      showError(e);
    }
  });

  // ---------- reset ----------

  function updateResetButton() {
    $('key-reset').disabled = page.running || $('key-reset-word').value !== 'RESET';
  }

  $('key-reset-word').addEventListener('input', updateResetButton);

  $('key-reset-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const confirm = $('key-reset-word').value;
    if (confirm !== 'RESET') { $('key-reset-word').focus(); return; }
    const onStep = new Channel();
    const stepBox = $('key-reset-step');
    onStep.onmessage = (s) => {
      let text = '';
      if (s.step === 'reinsert') {
        if (s.transport === 'nfc') text = t('keys.resetReinsertNfc');
        else text = t(s.longTouch ? 'keys.resetReinsertUsbLong' : 'keys.resetReinsertUsb', { seconds: s.windowSecs });
      } else if (s.step === 'touch') {
        text = t(s.longTouch ? 'keys.resetLongTouch' : 'keys.resetTouch');
      }
      stepBox.textContent = text;
      stepBox.hidden = !text;
      $('keys-op-text').textContent = text;
    };
    try {
      await onKey($('key-reset'), 'key_reset', { confirm, onStep }, true);
      stepBox.hidden = true;
      $('key-reset-word').value = '';
      hidePanel();
      page.selected = null;
      status(t('keys.resetDone'));
    } catch (e) {
      stepBox.hidden = true;
      showError(e);
    }
    updateResetButton();
  });
})();
