/** The package version, read once from package.json (one level above dist/ and src/). */
export declare const VERSION: string;
/** SERVER_SOFTWARE and the Server header. */
export declare const SERVER_SOFTWARE: string;
