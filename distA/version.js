import { readFileSync } from 'node:fs';
/** The package version, read once from package.json (one level above dist/ and src/). */
export const VERSION = (() => {
    try {
        const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
        return pkg.version ?? '0.0.0';
    }
    catch {
        return '0.0.0';
    }
})();
/** SERVER_SOFTWARE and the Server header. */
export const SERVER_SOFTWARE = `scriptserve/${VERSION}`;
