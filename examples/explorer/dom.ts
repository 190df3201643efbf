/** Typed lookups of the page's elements by id. */

/** The element with `id`, checked to be a `type`. @throws Error naming the id when missing */
export function byId<T extends HTMLElement>(id: string, type: new () => T): T {
  const el = document.getElementById(id);
  if (!(el instanceof type)) throw new Error(`the page has no ${type.name} #${id}`);
  return el;
}
