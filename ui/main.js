// The only module that talks to the Rust side.
const { invoke } = window.__TAURI__.core;
invoke('app_info').then((info) => { document.getElementById('version').textContent = info.version; });
