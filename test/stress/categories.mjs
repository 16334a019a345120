// Every category of the stress suite, in the order. Each `run(scale)`
// takes 'full' (npm run test:stress) or 'fast' (npm test) and resolves a Category.
import { faultyScripts, overload, shutdown, slowClients, soak, vanishingClients } from './faults.mjs';
import { headerAbuse, listingAndLog, pathFuzz, protocol, ranges, scriptPaths } from './hostile.mjs';
import { uploads } from './uploads.mjs';

export const CATEGORIES = [
  { id: 1, name: 'path fuzzing', run: pathFuzz },
  { id: 2, name: 'script paths & argv', run: scriptPaths },
  { id: 3, name: 'header abuse', run: headerAbuse },
  { id: 4, name: 'protocol & smuggling', run: protocol },
  { id: 5, name: 'range amplification', run: ranges },
  { id: 6, name: 'listing & log injection', run: listingAndLog },
  { id: 7, name: 'faulty scripts', run: faultyScripts },
  { id: 8, name: 'vanishing clients', run: vanishingClients },
  { id: 9, name: 'slowloris & slow bodies', run: slowClients },
  { id: 10, name: 'overload', run: overload },
  { id: 11, name: 'graceful shutdown', run: shutdown },
  { id: 12, name: 'soak', run: soak },
  { id: 13, name: 'uploads', run: uploads },
];
