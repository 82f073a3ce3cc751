import { renderSettingsDoc } from './settings-doc.js';

process.stdout.write(renderSettingsDoc());
