// The recipes of docs/recipes.md as the tests use them: every file and
// command line marked for a recipe (`<!-- recipe NAME file PATH [MODE] -->`
// or `<!-- recipe NAME command -->` before a fenced block) is read from the
// page itself, so what the page shows is what the tests run.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR, startCli, writeTree } from './helpers.mjs';

const PAGE = readFileSync(join(ROOT_DIR, 'docs', 'recipes.md'), 'utf8');
const MARKED = /<!-- recipe (\S+) (file (\S+)(?: (\d+))?|command) -->\n```[^\n]*\n([\s\S]*?)```/g;

/** { files: { path: {content, mode} }, command: string[] } for each recipe name. */
function readRecipes() {
  const recipes = {};
  for (const [, name, kind, path, mode, body] of PAGE.matchAll(MARKED)) {
    const recipe = (recipes[name] ??= { files: {}, command: null });
    if (kind === 'command') {
      const line = body.trim();
      if (!line.startsWith('scriptserve ') || line.includes('\n')) throw new Error(`recipe ${name}: a command block is one scriptserve line`);
      recipe.command = line.split(/\s+/).slice(1);
    } else {
      recipe.files[path] = mode ? { content: body, mode: parseInt(mode, 8) } : body;
    }
  }
  return recipes;
}

export const RECIPES = readRecipes();

/** Write a recipe's files into `site`. */
export function writeRecipe(name, site) {
  const recipe = RECIPES[name];
  if (!recipe) throw new Error(`docs/recipes.md has no recipe ${name}`);
  writeTree(site, recipe.files);
}

/** Start the CLI with a recipe's command line, its `site` argument replaced by the folder, on a free port. */
export function startRecipe(name, site) {
  const args = RECIPES[name]?.command;
  if (!args || args[args.length - 1] !== 'site') throw new Error(`recipe ${name}: no command line ending in "site"`);
  return startCli(['-p', '0', '-q', ...args.slice(0, -1), site]);
}
