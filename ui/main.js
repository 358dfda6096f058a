// Passkey Enroll UI: views, the add-a-passkey wizard, and the calls to the Rust commands.
// Presentation only: every operation is one `invoke` of a command in src-tauri/src/commands.rs.
'use strict';

(() => {
  const { invoke, Channel } = window.__TAURI__.core;
  const S = window.STRINGS;

  // ---------- helpers ----------

  const $ = (id) => document.getElementById(id);

  /** The string at `path` ("a.b.c"), with {placeholders} filled from `params`. */
  function t(path, params) {
    const value = path.split('.').reduce((o, k) => (o == null ? undefined : o[k]), S);
    if (typeof value !== 'string') return path;
    return value.replace(/\{(\w+)\}/g, (m, k) => (params && k in params ? String(params[k]) : m));
  }

  function applyStrings(root) {
    root.querySelectorAll('[data-s]').forEach((el) => { el.textContent = t(el.dataset.s); });
    root.querySelectorAll('[data-s-placeholder]').forEach((el) => {
      el.placeholder = t(el.dataset.sPlaceholder);
    });
    root.querySelectorAll('[data-s-alt]').forEach((el) => { el.alt = t(el.dataset.sAlt); });
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

  /** The person-facing text for an error from a command, and its detail. */
  function describe(err) {
    if (err && typeof err === 'object' && err.code) {
      let text = S.errors[err.code] || S.errors.generic;
      if (err.code === 'pin_invalid') {
        const attempts = err.attemptsLeft == null ? ''
          : t('errors.pin_invalid_attempts', { count: err.attemptsLeft });
        text = t('errors.pin_invalid', { attempts }).trim();
      }
      if (err.code === 'not_registered' && err.causeCode && S.errors[err.causeCode]) {
        text = `${text} ${S.errors[err.causeCode]}`;
      }
      return { code: err.code, text, detail: err.message || '' };
    }
    return { code: 'internal', text: S.errors.generic, detail: String(err) };
  }

  /** Shows an error in `box` (an element with role=alert): the text, then the detail. */
  function showError(box, err) {
    const d = describe(err);
    box.replaceChildren(
      el('p', { class: 'error-text', text: d.text }),
      d.detail ? el('details', {}, el('summary', { text: t('wizard.details') }),
        el('p', { class: 'error-detail', text: d.detail })) : '',
    );
    box.dataset.code = d.code;
    box.hidden = false;
    return d;
  }

  function clearError(box) {
    box.hidden = true;
    box.replaceChildren();
    delete box.dataset.code;
  }

  async function busy(button, work) {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    try {
      return await work();
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  }

  async function copyText(input) {
    try {
      await navigator.clipboard.writeText(input.value);
      return true;
    } catch (_) {
      input.focus();
      input.select();
      try { return document.execCommand('copy'); } catch (_e) { return false; }
    }
  }

  // ---------- state ----------

  const state = {
    profile: null, // { id, issuer, clientId, demo }
    passkeys: [],
    wizard: { backup: false, authenticator: null, running: false, viaLink: false, others: [], keys: [] },
    keyPoll: { gen: 0, timer: null, inFlight: Promise.resolve() },
    linkWatch: null,
  };

  // ---------- views ----------

  const views = ['start', 'signin', 'passkeys', 'wizard', 'link', 'diagnostics'];

  function show(view, focus) {
    views.forEach((v) => { $(`view-${v}`).hidden = v !== view; });
    document.body.dataset.view = view;
    const signedInViews = ['passkeys', 'wizard', 'link'];
    $('app-header').hidden = !signedInViews.includes(view);
    $('demo-banner').hidden = !(state.profile && state.profile.demo);
    document.body.classList.toggle('demo', Boolean(state.profile && state.profile.demo));
    if (view !== 'link') stopLinkWatch();
    if (view !== 'wizard') stopKeyPoll();
    const target = focus || document.querySelector(`#view-${view} h1`);
    if (target) target.focus();
  }

  // ---------- start: saved instances, first run, demo ----------

  async function showStart() {
    state.profile = null;
    clearError($('instance-error'));
    clearError($('demo-error'));
    $('instance-status').textContent = '';
    $('demo-status').textContent = '';
    show('start');
    try {
      const info = await invoke('app_info');
      $('form-instance').hidden = !info.canSaveInstances;
      const saved = await invoke('list_profiles');
      renderInstances(saved);
    } catch (e) {
      showError($('instance-error'), e);
    }
  }

  function renderInstances(saved) {
    const list = $('instance-list');
    list.replaceChildren();
    const profiles = saved.profiles || [];
    $('saved').hidden = profiles.length === 0;
    profiles.forEach((p) => {
      const last = p.id === saved.lastUsed;
      const open = el('button', {
        type: 'button', class: last ? 'primary' : '', text: t('start.open'),
        'aria-label': t('start.openLabel', { issuer: p.issuer }),
        onclick: () => busy(open, () => openInstance(p.id)),
      });
      const forget = el('button', {
        type: 'button', class: 'quiet', text: t('start.forget'),
        'aria-label': t('start.forgetLabel', { issuer: p.issuer }),
        onclick: async () => {
          try { renderInstances(await invoke('remove_profile', { id: p.id })); } catch (e) { showError($('instance-error'), e); }
        },
      });
      list.append(el('li', { class: 'row', dataset: { id: p.id } },
        el('div', { class: 'grow' },
          el('div', { class: 'strong', text: p.issuer }),
          el('div', { class: 'muted small', text: `${p.clientId}${last ? ` · ${t('start.lastUsed')}` : ''}` })),
        open, forget));
    });
  }

  async function openInstance(id) {
    clearError($('instance-error'));
    try {
      afterInstance(await invoke('open_profile', { id }));
    } catch (e) {
      showError($('instance-error'), e);
    }
  }

  function afterInstance(info) {
    state.profile = info.profile;
    if (info.signedIn) showPasskeys();
    else showSignIn();
  }

  $('form-instance').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const issuer = $('issuer').value.trim();
    const clientId = $('client-id').value.trim();
    clearError($('instance-error'));
    if (!issuer) { showError($('instance-error'), { code: 'invalid_issuer' }); $('issuer').focus(); return; }
    if (!clientId) { showError($('instance-error'), { code: 'missing_client_id' }); $('client-id').focus(); return; }
    busy($('btn-check'), async () => {
      $('instance-status').textContent = t('start.checking');
      try {
        afterInstance(await invoke('add_profile', { issuer, clientId }));
      } catch (e) {
        showError($('instance-error'), e);
      } finally {
        $('instance-status').textContent = '';
      }
    });
  });

  $('btn-demo').addEventListener('click', () => busy($('btn-demo'), async () => {
    clearError($('demo-error'));
    $('demo-status').textContent = t('start.demoStarting');
    try {
      afterInstance(await invoke('start_demo'));
    } catch (e) {
      showError($('demo-error'), e);
    } finally {
      $('demo-status').textContent = '';
    }
  }));

  // ---------- sign-in ----------

  /**
   * Shows the sign-in page. `note` is a plain sentence under the buttons (e.g. after sign-out,
   * when the browser may still be signed in). After `mfa_required` the next sign-in asks for
   * the credentials again (`prompt=login`), so the person can use their second factor.
   */
  function showSignIn(error, note) {
    const demo = state.profile.demo;
    $('signin-instance').textContent = t('signIn.instance', { issuer: state.profile.issuer });
    $('btn-signin').textContent = t(demo ? 'signIn.demoButton' : 'signIn.button');
    $('btn-signin').hidden = false;
    $('btn-signin-other').hidden = demo;
    $('signin-waiting').hidden = true;
    $('signin-note').textContent = note || '';
    $('signin-note').hidden = !note;
    state.signInPrompt = error && error.code === 'mfa_required' ? 'login' : null;
    clearError($('signin-error'));
    if (error) showError($('signin-error'), error);
    show('signin');
  }

  $('btn-signin').addEventListener('click', () => signIn(state.signInPrompt));
  $('btn-signin-other').addEventListener('click', () => signIn('select_account'));

  async function signIn(prompt) {
    const demo = state.profile.demo;
    clearError($('signin-error'));
    $('signin-note').hidden = true;
    $('btn-signin').hidden = true;
    $('btn-signin-other').hidden = true;
    $('signin-waiting').hidden = false;
    $('signin-url-box').hidden = true;
    $('signin-waiting-text').textContent = t(demo ? 'signIn.demoWaiting' : 'signIn.waiting');
    $('btn-signin-cancel').focus();
    const onUrl = new Channel();
    onUrl.onmessage = (url) => {
      if (demo) return;
      $('signin-url').value = url;
      $('signin-url-box').hidden = false;
    };
    try {
      await invoke('sign_in', { onUrl, prompt: prompt || null });
      await showPasskeys();
    } catch (e) {
      $('btn-signin').hidden = false;
      $('btn-signin-other').hidden = demo;
      $('signin-waiting').hidden = true;
      if (e && e.code === 'cancelled') {
        $('signin-error').replaceChildren(el('p', { text: t('signIn.cancelled') }));
        $('signin-error').hidden = false;
      } else {
        showError($('signin-error'), e);
      }
      $('btn-signin').focus();
    }
  }

  $('btn-signin-cancel').addEventListener('click', () => invoke('cancel'));
  $('btn-copy-signin-url').addEventListener('click', () => copyText($('signin-url')));
  $('btn-signin-back').addEventListener('click', async () => {
    await invoke('cancel');
    await invoke('close_instance');
    showStart();
  });

  // ---------- header ----------

  async function loadHeader() {
    try {
      const me = await invoke('me');
      $('who-name').textContent = me.displayName;
      $('who-login').textContent = me.loginName;
    } catch (e) {
      if (!handleSessionError(e)) { $('who-name').textContent = ''; $('who-login').textContent = ''; }
    }
    $('who-instance').textContent = state.profile.issuer;
  }

  /** Sends the person back to sign-in when the session is gone. Returns true if it did. */
  function handleSessionError(e) {
    if (e && (e.code === 'session_expired' || e.code === 'not_signed_in' || e.code === 'mfa_required')) {
      showSignIn(e);
      return true;
    }
    return false;
  }

  $('btn-signout').addEventListener('click', () => busy($('btn-signout'), async () => {
    let report;
    try {
      report = await invoke('sign_out');
    } catch (e) {
      // Signed out locally even if revocation failed; show why on the sign-in page.
      showSignIn(e);
      return;
    }
    // ZITADEL keeps the browser's session unless the browser came back from its logout page.
    const browserStillSignedIn = report && report.was_signed_in
      && (report.browser === 'unconfirmed' || report.browser === 'not_supported');
    showSignIn(null, browserStillSignedIn ? t('signIn.otherHint') : '');
  }));

  $('btn-switch').addEventListener('click', async () => {
    await invoke('close_instance');
    showStart();
  });

  // ---------- passkeys ----------

  async function showPasskeys(message) {
    show('passkeys');
    loadHeader();
    await refreshPasskeys(message);
  }

  async function refreshPasskeys(message) {
    const status = $('passkeys-status');
    clearError($('passkeys-error'));
    status.textContent = t('passkeys.loading');
    $('view-passkeys').setAttribute('aria-busy', 'true');
    try {
      // Each passkey with the model when this computer enrolled it (src-tauri/src/know.rs).
      state.passkeys = await invoke('list_known_passkeys');
      renderPasskeys();
      status.textContent = message || countText(state.passkeys.length);
    } catch (e) {
      status.textContent = '';
      if (!handleSessionError(e)) showError($('passkeys-error'), e);
    } finally {
      $('view-passkeys').removeAttribute('aria-busy');
    }
  }

  function countText(n) {
    return n === 1 ? t('passkeys.countOne') : t('passkeys.count', { count: n });
  }

  function stateOf(p) {
    switch (p.state) {
      case 'AUTH_FACTOR_STATE_READY': return 'ready';
      case 'AUTH_FACTOR_STATE_NOT_READY': return 'not-ready';
      default: return 'unknown';
    }
  }

  function renderPasskeys() {
    const list = $('passkey-list');
    list.replaceChildren();
    const ready = state.passkeys.filter((p) => stateOf(p) === 'ready');
    $('passkeys-empty').hidden = ready.length > 0;
    $('btn-add').hidden = ready.length === 0;
    $('passkeys-backup-hint').hidden = ready.length !== 1;
    state.passkeys.forEach((p) => {
      const s = stateOf(p);
      const name = p.name || t('passkeys.unnamed');
      const unfinished = s === 'not-ready';
      const badge = {
        ready: t('passkeys.stateReady'), 'not-ready': t('passkeys.stateNotReady'), unknown: t('passkeys.stateUnknown'),
      }[s];
      const action = el('button', {
        type: 'button', class: unfinished ? '' : 'danger-quiet',
        text: t(unfinished ? 'passkeys.cleanUp' : 'passkeys.remove'),
        'aria-label': t(unfinished ? 'passkeys.cleanUpLabel' : 'passkeys.removeLabel', { name }),
        onclick: () => removePasskey(p, unfinished, action),
      });
      list.append(el('li', { class: `row passkey ${s}`, dataset: { id: p.id, name: p.name, state: s } },
        el('span', { class: 'key-icon', 'aria-hidden': 'true' }),
        el('div', { class: 'grow' },
          el('div', { class: 'strong passkey-name', text: name }),
          unfinished ? el('div', { class: 'muted small', text: t('passkeys.stateNotReadyHint') }) : '',
          unfinished ? '' : knowParts(p, name)),
        el('span', { class: `badge ${s}`, text: badge }),
        action));
    });
  }

  // ---------- know your passkeys: model, "Which key is this?", "Test this passkey" ----------

  /** The model line of a passkey and, when it can be checked here, its two actions. */
  function knowParts(p, name) {
    const where = !p.known ? t('know.elsewhere')
      : p.kind === 'software' ? t('know.modelSoftware', { model: p.model })
        : t('know.model', { model: p.model, transport: p.transport });
    const line = el('div', { class: 'muted small know-model', text: where });
    if (!p.canCheck) return line;
    const status = el('p', { class: 'status small know-status', role: 'status' });
    const cancel = el('button', {
      type: 'button', class: 'know-cancel', hidden: true, text: t('know.cancel'),
      onclick: () => invoke('cancel').catch(() => { /* nothing was running */ }),
    });
    const which = el('button', {
      type: 'button', class: 'know-which', text: t('know.which'),
      'aria-label': t('know.whichLabel', { name }),
      onclick: () => whichPasskey(p, which, status),
    });
    const test = el('button', {
      type: 'button', class: 'know-test', text: t('know.test'),
      'aria-label': t('know.testLabel', { name }),
      onclick: () => testPasskey(p, test, cancel, status),
    });
    return el('div', { class: 'know' }, line, el('div', { class: 'actions' }, which, test, cancel), status);
  }

  function knowStatus(status, text, warning) {
    status.textContent = text;
    status.classList.toggle('warning', !!warning);
    status.dataset.outcome = warning ? 'failed' : 'ok';
  }

  async function whichPasskey(p, button, status) {
    knowStatus(status, t('know.whichRunning'));
    await busy(button, async () => {
      try {
        const found = await invoke('which_passkey', { id: p.id });
        const text = found.kind === 'software'
          ? t('know.whichSoftware', { model: found.model })
          : t(found.winked ? 'know.whichKeyBlinking' : 'know.whichKey', { model: found.model, transport: found.transport });
        knowStatus(status, text);
      } catch (e) {
        if (handleSessionError(e)) return;
        knowStatus(status, knowError(p, e), true);
      }
    });
  }

  function knowError(p, e) {
    if (e && e.code === 'authenticator_not_found') {
      return t('know.notHeld', { model: p.model, transport: p.transport });
    }
    return describe(e).text;
  }

  async function testPasskey(p, button, cancel, status) {
    const onPrompt = new Channel();
    let finished = false;
    onPrompt.onmessage = (m) => {
      if (finished) return;
      if (m.prompt === 'pin') { knowStatus(status, t('know.pin')); openPinDialog(m.request); }
      if (m.prompt === 'touch') knowStatus(status, t('know.touch'));
    };
    knowStatus(status, t('know.testRunning'));
    cancel.hidden = false;
    await busy(button, async () => {
      try {
        const outcome = await invoke('test_passkey', { id: p.id, onPrompt });
        finished = true;
        if (outcome.passed === false) {
          knowStatus(status, t('know.testFailed', { message: outcome.message }), true);
        } else {
          knowStatus(status, t(outcome.userVerified ? 'know.testPassedVerified' : 'know.testPassed'));
        }
      } catch (e) {
        finished = true;
        if (handleSessionError(e)) return;
        knowStatus(status, knowError(p, e), true);
      } finally {
        cancel.hidden = true;
        if ($('pin-dialog').open) closePinDialog();
      }
    });
  }

  function confirm(title, text, okLabel) {
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

  async function removePasskey(p, unfinished, button) {
    const name = p.name || t('passkeys.unnamed');
    const ok = unfinished
      ? await confirm(t('confirm.cleanUpTitle'), t('confirm.cleanUpText'), t('confirm.cleanUpOk'))
      : await confirm(t('confirm.removeTitle', { name }), t('confirm.removeText'), t('confirm.removeOk'));
    if (!ok) { button.focus(); return; }
    await busy(button, async () => {
      try {
        await invoke('remove_passkey', { id: p.id });
        await refreshPasskeys(unfinished ? t('passkeys.cleanedUp') : t('passkeys.removed', { name }));
      } catch (e) {
        if (handleSessionError(e)) return;
        await refreshPasskeys();
        showError($('passkeys-error'), e);
      }
    });
    $('passkeys-title').focus();
  }

  $('btn-add').addEventListener('click', () => openWizard(false));
  $('btn-add-first').addEventListener('click', () => openWizard(false));
  $('btn-link').addEventListener('click', () => showLink());

  // ---------- wizard ----------

  const wizardSteps = ['choose', 'name', 'progress', 'platform', 'done', 'error'];

  function wizardStep(step, focus) {
    wizardSteps.forEach((s) => { $(`wiz-${s}`).hidden = s !== step; });
    $('wiz-progress-card').hidden = !['progress', 'done', 'error'].includes(step) || state.wizard.viaLink;
    $('view-wizard').dataset.step = step;
    const order = ['choose', 'name', 'progress', 'done'];
    const at = order.indexOf(['error', 'platform'].includes(step) ? 'progress' : step);
    document.querySelectorAll('#wizard-steps li').forEach((li, i) => {
      li.classList.toggle('done', i < at || step === 'done');
      li.classList.toggle('current', i === at);
      if (i === at) li.setAttribute('aria-current', 'step'); else li.removeAttribute('aria-current');
    });
    if (step === 'choose') startKeyPoll(); else stopKeyPoll();
    if (focus) focus.focus();
  }

  // Attached security keys, polled while the chooser is open, so keys appear and disappear
  // within a second. Not in demo mode (nothing there touches a real key).
  function startKeyPoll() {
    if (!state.profile || state.profile.demo || state.keyPoll.timer !== null) return;
    const gen = ++state.keyPoll.gen;
    const tick = () => {
      state.keyPoll.inFlight = (async () => {
        try {
          state.wizard.keys = await invoke('list_keys');
          state.wizard.keysError = null;
        } catch (e) {
          state.wizard.keys = [];
          state.wizard.keysError = describe(e).detail;
        }
      })();
      state.keyPoll.inFlight.then(() => {
        if (gen !== state.keyPoll.gen) return;
        renderChoices(false);
        state.keyPoll.timer = setTimeout(tick, 700);
      });
    };
    state.keyPoll.timer = setTimeout(tick, 0);
  }

  function stopKeyPoll() {
    state.keyPoll.gen += 1;
    if (state.keyPoll.timer !== null) clearTimeout(state.keyPoll.timer);
    state.keyPoll.timer = null;
  }

  function keyHint(summary) {
    const transport = (summary.transport || '').toUpperCase();
    if (summary.builtInVerification) return t('wizard.keyHintFingerprint', { transport });
    if (summary.pin === 'set') return t('wizard.keyHintPin', { transport });
    if (summary.pin === 'not set') return t('wizard.keyHintNoPin', { transport });
    return t('wizard.keyHint', { transport });
  }

  /** The choices in order: attached keys (and "the key you touch" when several), the software
   *  authenticator (demo), the platform authenticator or a phone. */
  function currentChoices() {
    const keys = state.wizard.keys.map((k) => ({ id: k.id, model: k.info.model, hint: keyHint(k.key || {}) }));
    if (keys.length > 1) keys.unshift({ id: 'key', model: t('wizard.anyKey'), hint: t('wizard.anyKeyHint') });
    const others = state.wizard.others.map((c) => {
      if (c.info.kind === 'software') return { id: c.id, model: c.info.model, hint: t('wizard.softwareHint'), rank: 0 };
      if (c.info.kind === 'platform') {
        return {
          id: c.id, rank: 1, hint: t('wizard.platformExplanation'),
          model: t(state.profile.demo ? 'wizard.platformModelDemo' : 'wizard.platformModel'),
        };
      }
      return { id: c.id, model: c.info.model, hint: c.info.notice || '', rank: 2 };
    }).sort((a, b) => a.rank - b.rank);
    return keys.concat(others);
  }

  let renderedChoices = '';

  function renderChoices(initial) {
    const choices = currentChoices();
    const signature = JSON.stringify(choices);
    const box = $('auth-choices');
    if (!state.profile.demo) {
      $('auth-keys').textContent = state.wizard.keysError
        ? t('wizard.keysError', { detail: state.wizard.keysError })
        : t(state.wizard.keys.length ? 'wizard.keysOne' : 'wizard.keysNone');
    } else {
      $('auth-keys').textContent = '';
    }
    if (!initial && signature === renderedChoices) return;
    renderedChoices = signature;
    const before = document.querySelector('input[name="authenticator"]:checked');
    const checkedId = before ? before.value : null;
    const hadFocus = box.contains(document.activeElement);
    box.replaceChildren();
    const keep = choices.some((c) => c.id === checkedId) ? checkedId : (choices[0] && choices[0].id);
    choices.forEach((c) => {
      const id = `auth-${c.id.replace(/[^a-z0-9-]/gi, '-')}`;
      box.append(el('div', { class: 'choice', dataset: { id: c.id } },
        el('input', { type: 'radio', name: 'authenticator', id, value: c.id, checked: c.id === keep, 'aria-describedby': `${id}-hint` }),
        el('label', { for: id },
          el('span', { class: 'strong', text: c.model }),
          el('span', { class: 'muted small', id: `${id}-hint`, text: c.hint }))));
    });
    $('auth-none').hidden = choices.length > 0;
    $('wiz-choose-next').disabled = choices.length === 0;
    const checked = box.querySelector('input:checked');
    if (initial) (checked || $('wiz-choose-cancel')).focus();
    else if (hadFocus) (checked || $('wiz-choose-next')).focus();
  }

  async function openWizard(backup) {
    stopKeyPoll();
    state.wizard = { backup, authenticator: null, running: false, viaLink: false, others: [], keys: [] };
    renderedChoices = '';
    $('wizard-title').textContent = t(backup ? 'wizard.backupTitle' : 'wizard.title');
    show('wizard');
    $('auth-choices').replaceChildren();
    $('auth-keys').textContent = '';
    wizardStep('choose');
    try {
      state.wizard.others = await invoke('authenticators');
    } catch (e) {
      if (handleSessionError(e)) return;
      wizardError(e);
      return;
    }
    renderChoices(true);
  }

  $('wiz-choose-next').addEventListener('click', () => busy($('wiz-choose-next'), async () => {
    const picked = document.querySelector('input[name="authenticator"]:checked');
    if (!picked) return;
    stopKeyPoll();
    await state.keyPoll.inFlight; // no key is opened twice at once
    state.wizard.authenticator = picked.value;
    if (picked.value === 'platform') { runPlatform(); return; }
    let name = '';
    try {
      name = await invoke('suggest_name', { authenticator: picked.value });
    } catch (e) {
      if (handleSessionError(e)) return;
      wizardError(e);
      return;
    }
    $('passkey-name').value = name;
    wizardStep('name', $('passkey-name'));
    $('passkey-name').select();
  }));

  $('wiz-choose-cancel').addEventListener('click', () => showPasskeys());
  $('wiz-name-back').addEventListener('click', () => wizardStep('choose', document.querySelector('input[name="authenticator"]:checked')));

  const progressOrder = ['starting', 'optionsChecked', 'waitingForAuthenticator', 'created', 'registering'];

  /** Draws the live steps; `outcome` is 'done' (all finished) or 'failed' (at `reached`). */
  function renderProgress(reached, texts, outcome) {
    const list = $('progress-list');
    list.replaceChildren();
    const at = outcome === 'done' ? progressOrder.length : progressOrder.indexOf(reached);
    progressOrder.forEach((step, i) => {
      let status = i < at ? 'done' : (i === at ? 'current' : 'todo');
      if (status === 'current' && outcome === 'failed') status = 'failed';
      list.append(el('li', { class: status, dataset: { step }, 'aria-current': status === 'current' ? 'step' : null },
        el('span', { class: 'mark', 'aria-hidden': 'true' }),
        el('span', { text: texts[step] || t(`wizard.progress.${step}`) })));
    });
  }

  $('wiz-name').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('passkey-name').value.trim();
    if (!name) { $('passkey-name').focus(); return; }
    state.wizard.running = true;
    const texts = {};
    let reached = 'starting';
    renderProgress(reached, texts);
    $('wiz-notice').hidden = true;
    hidePrompt();
    wizardStep('progress', $('wiz-cancel-run'));
    const onEvent = new Channel();
    const onPrompt = new Channel();
    let finished = false;
    onPrompt.onmessage = (p) => { if (!finished) handlePrompt(p); };
    onEvent.onmessage = (e) => {
      if (finished) return;
      if (e.step === 'optionsChecked') texts.optionsChecked = t('wizard.progress.optionsCheckedDone', { rpId: e.rp_id });
      if (e.step === 'waitingForAuthenticator') {
        const a = e.authenticator;
        texts.waitingForAuthenticator = a.hardware
          ? t('wizard.progress.waitingKey', { model: a.model })
          : t('wizard.progress.waitingSoftware');
        // The software authenticator was explained when it was chosen.
        if (a.notice && a.hardware) { $('wiz-notice').textContent = a.notice; $('wiz-notice').hidden = false; }
      }
      if (e.step === 'created') hidePrompt();
      if (e.step === 'registering') texts.registering = t('wizard.progress.registering', { name: e.name });
      if (progressOrder.includes(e.step)) reached = e.step;
      renderProgress(reached, texts);
    };
    try {
      const added = await invoke('add_passkey', { authenticator: state.wizard.authenticator, name, onEvent, onPrompt });
      finished = true;
      endPrompts();
      renderProgress(reached, texts, 'done');
      $('wiz-done-title').textContent = t('wizard.doneTitle', { name: added.name });
      const test = added.selfTest;
      $('wiz-selftest').textContent = !test ? ''
        : test.passed === false ? t('wizard.selfTestFailed', { message: test.message, advice: test.advice })
        : t('wizard.selfTestPassed');
      $('wiz-selftest').classList.toggle('warning', !!test && test.passed === false);
      wizardStep('done', $('wiz-backup'));
    } catch (e) {
      finished = true;
      endPrompts();
      if (handleSessionError(e)) return;
      renderProgress(reached, texts, 'failed');
      wizardError(e);
    } finally {
      state.wizard.running = false;
    }
  });

  // ---------- security key prompts ----------

  function showPrompt(text) {
    $('wiz-prompt-text').textContent = text;
    $('wiz-prompt').hidden = false;
  }

  function hidePrompt() {
    $('wiz-prompt').hidden = true;
    $('wiz-prompt-text').textContent = '';
  }

  function endPrompts() {
    hidePrompt();
    if ($('pin-dialog').open) closePinDialog();
  }

  function handlePrompt(p) {
    switch (p.prompt) {
      case 'pin': showPrompt(t('wizard.prompt.pin')); openPinDialog(p.request); break;
      case 'touch': showPrompt(t('wizard.prompt.touch')); break;
      case 'touchToSelect': showPrompt(t('wizard.prompt.touchToSelect')); break;
      case 'notice': {
        const n = p.notice || {};
        const key = {
          processing: 'processing', useBuiltInVerification: 'useBuiltInVerification',
          fallingBackToPin: 'fallingBackToPin', pinRejected: 'pinRejected', pinSet: 'pinSet',
        }[n.kind];
        if (key) showPrompt(t(`wizard.prompt.${key}`, { reason: n.reason || '' }));
        break;
      }
      default: break;
    }
  }

  let pinRequest = null;

  function openPinDialog(request) {
    pinRequest = request;
    const enter = request.kind === 'enter';
    const min = Math.max(4, request.minLength || 4);
    const title = { enter: 'pin.enterTitle', setNew: 'pin.setTitle', changeRequired: 'pin.changeTitle' }[request.kind] || 'pin.enterTitle';
    $('pin-title').textContent = t(title);
    if (enter) {
      $('pin-text').textContent = t(request.afterWrongPin ? 'pin.wrongText' : 'pin.enterText');
    } else {
      $('pin-text').textContent = t(request.kind === 'changeRequired' ? 'pin.changeText' : 'pin.setText');
    }
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
    clearError($('pin-error'));
    if (!$('pin-dialog').open) $('pin-dialog').showModal();
    $('pin-input').focus();
  }

  function closePinDialog() {
    $('pin-input').value = '';
    $('pin-confirm').value = '';
    pinRequest = null;
    if ($('pin-dialog').open) $('pin-dialog').close();
    if (!$('wiz-cancel-run').closest('[hidden]')) $('wiz-cancel-run').focus();
  }

  function pinProblem(text) {
    const box = $('pin-error');
    box.replaceChildren(el('p', { class: 'error-text', text }));
    box.hidden = false;
    $('pin-input').focus();
  }

  function answerPin(pin) {
    closePinDialog();
    invoke('answer_pin', { pin }).catch(() => { /* the key stopped asking meanwhile */ });
  }

  $('pin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    if (!pinRequest) return;
    const pin = $('pin-input').value;
    if (!pin) { pinProblem(t('pin.empty')); return; }
    if (pinRequest.kind !== 'enter') {
      const min = Math.max(4, pinRequest.minLength || 4);
      if ([...pin].length < min) { pinProblem(t('pin.tooShort', { min })); return; }
      if (new TextEncoder().encode(pin).length > 63) { pinProblem(t('pin.tooLong')); return; }
      if (pin !== $('pin-confirm').value) {
        $('pin-confirm').value = '';
        pinProblem(t('pin.mismatch'));
        return;
      }
    }
    answerPin(pin);
  });
  $('pin-cancel').addEventListener('click', () => answerPin(null));
  // Escape closes the dialog: that is Cancel.
  $('pin-dialog').addEventListener('cancel', (ev) => { ev.preventDefault(); answerPin(null); });

  // ---------- platform authenticator or phone: registration link ----------

  async function runPlatform() {
    state.wizard.running = true;
    state.wizard.viaLink = true;
    $('platform-status').textContent = t('wizard.platformOpening');
    $('platform-link').hidden = true;
    $('platform-copy-status').textContent = '';
    wizardStep('platform', $('wiz-platform-cancel'));
    const onLink = new Channel();
    onLink.onmessage = (link) => {
      $('platform-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(link.qrSvg)}`;
      $('platform-url').value = link.link;
      $('platform-link').hidden = false;
      $('platform-status').textContent = t('wizard.platformWaiting');
    };
    try {
      const added = await invoke('add_passkey_via_link', { onLink });
      $('wiz-done-title').textContent = t('wizard.doneTitle', { name: added.name || t('passkeys.unnamed') });
      wizardStep('done', $('wiz-backup'));
    } catch (e) {
      if (handleSessionError(e)) return;
      wizardError(e);
    } finally {
      state.wizard.running = false;
    }
  }

  $('wiz-platform-cancel').addEventListener('click', () => invoke('cancel'));
  $('btn-copy-platform-url').addEventListener('click', async () => {
    const ok = await copyText($('platform-url'));
    $('platform-copy-status').textContent = t(ok ? 'link.copied' : 'link.copyFailed');
  });

  function wizardError(e) {
    const box = $('wiz-error-box');
    if (e && e.code === 'cancelled') {
      box.replaceChildren(el('p', { class: 'error-text', text: t('wizard.cancelled') }));
      box.dataset.code = 'cancelled';
      box.hidden = false;
    } else {
      showError(box, e);
    }
    wizardStep('error', $('wiz-retry'));
  }

  $('wiz-cancel-run').addEventListener('click', () => invoke('cancel'));
  $('wiz-retry').addEventListener('click', () => openWizard(state.wizard.backup));
  $('wiz-error-close').addEventListener('click', () => showPasskeys());
  $('wiz-backup').addEventListener('click', () => openWizard(true));
  $('wiz-finish').addEventListener('click', () => showPasskeys());

  // ---------- another device ----------

  async function showLink() {
    show('link');
    $('link-box').hidden = true;
    clearError($('link-error'));
    $('link-loading').textContent = t('link.loading');
    $('link-copy-status').textContent = '';
    let link;
    try {
      link = await invoke('registration_link');
    } catch (e) {
      $('link-loading').textContent = '';
      if (!handleSessionError(e)) showError($('link-error'), e);
      return;
    }
    $('link-loading').textContent = '';
    $('link-qr').src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(link.qrSvg)}`;
    $('link-url').value = link.link;
    const secs = link.expiresInSecs;
    $('link-expiry').textContent = secs == null ? ''
      : (secs < 60 ? t('link.expiresSoon') : t('link.expiresIn', { minutes: Math.floor(secs / 60) }));
    $('link-box').hidden = false;
    startLinkWatch();
  }

  function startLinkWatch() {
    stopLinkWatch();
    const known = new Set(state.passkeys.map((p) => p.id));
    $('link-watch').textContent = t('link.watching');
    const tick = async () => {
      try {
        const now = await invoke('list_passkeys');
        const fresh = now.find((p) => !known.has(p.id) && stateOf(p) === 'ready');
        if (fresh) {
          state.passkeys = now;
          $('link-watch').textContent = t('link.arrived', { name: fresh.name || t('passkeys.unnamed') });
          now.forEach((p) => known.add(p.id));
        }
      } catch (_) { /* keep watching; errors show when the person goes back */ }
      if (state.linkWatch !== null) state.linkWatch = setTimeout(tick, 3000);
    };
    state.linkWatch = setTimeout(tick, 3000);
  }

  function stopLinkWatch() {
    if (state.linkWatch !== null) clearTimeout(state.linkWatch);
    state.linkWatch = null;
  }

  $('btn-copy-link').addEventListener('click', async () => {
    const ok = await copyText($('link-url'));
    $('link-copy-status').textContent = t(ok ? 'link.copied' : 'link.copyFailed');
  });
  $('btn-link-done').addEventListener('click', () => showPasskeys());

  // ---------- diagnostics ----------

  let beforeDiagnostics = 'start';

  $('btn-diagnostics').addEventListener('click', async () => {
    const current = document.body.dataset.view;
    if (current !== 'diagnostics') beforeDiagnostics = current;
    const lines = await invoke('diagnostics').catch((e) => [describe(e).detail]);
    $('diag-log').value = lines.length ? lines.join('\n') : t('diagnostics.empty');
    $('diag-status').textContent = '';
    // Keep the header of a signed-in view visible behind the log.
    show('diagnostics');
    $('app-header').hidden = !['passkeys', 'wizard', 'link'].includes(beforeDiagnostics);
  });

  $('btn-diag-copy').addEventListener('click', async () => {
    const ok = await copyText($('diag-log'));
    $('diag-status').textContent = t(ok ? 'diagnostics.copied' : 'link.copyFailed');
  });

  $('btn-diag-back').addEventListener('click', () => {
    if (beforeDiagnostics === 'passkeys' || beforeDiagnostics === 'link') showPasskeys();
    else show(beforeDiagnostics);
  });

  // ---------- keyboard ----------

  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape' || $('confirm-dialog').open || $('pin-dialog').open) return;
    const view = document.body.dataset.view;
    if (view === 'link') showPasskeys();
    if (view === 'diagnostics') $('btn-diag-back').click();
    if (view === 'wizard' && !state.wizard.running) showPasskeys();
    if (view === 'wizard' && state.wizard.running) invoke('cancel');
  });

  // ---------- start ----------

  applyStrings(document);
  document.title = t('app.title');
  $('howto-steps').replaceChildren(...S.start.howToSteps.map((s) => el('li', { text: s })));
  invoke('app_info').then((info) => {
    // The About line: version and where this program is installed.
    $('version').textContent = info.installedAt
      ? t('app.about', { version: info.version, path: info.installedAt })
      : t('app.version', { version: info.version });
  }).catch(() => {});
  showStart();
})();
