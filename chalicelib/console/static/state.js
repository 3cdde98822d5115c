/* Page state shared by the pages: who is signed in, and the navigation counter that lets a page
 * drop responses that arrive after the agent left it. */

let shown = 0;
let me = null;
const leaving = [];

export const whoami = () => me;
export const setMe = (value) => { me = value; };
export const isManager = () => Boolean(me && (me.role === "supervisor" || me.role === "admin"));
export const isAdmin = () => Boolean(me && me.role === "admin");

/** Start a new page: run the clean-ups of the previous one; returns this page's number. */
export function nextPage() {
  shown += 1;
  for (const fn of leaving.splice(0)) fn();
  return shown;
}

/** The number of the page showing now. */
export const pageNumber = () => shown;

/** Is page number n still the one showing? */
export const still = (n) => n === shown;

/** Run fn when the current page is left (stop timers, destroy charts). */
export const onLeave = (fn) => leaving.push(fn);
