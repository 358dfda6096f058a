// The only module that talks to the Rust side.
const { invoke } = window.__TAURI__.core;
invoke('app_version').then((v) => { document.getElementById('version').textContent = v; });
