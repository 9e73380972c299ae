// What web/static/js/guard.js (a classic script, run first) gives the pages' modules.
interface Window {
  /** What this browser lacks of what the page needs (empty: all there). */
  menkaiMissing?: string[];
  /** Stops the page on an error of its own: logs it and shows "Something went wrong". */
  menkaiCrash?: (error: unknown) => void;
}
