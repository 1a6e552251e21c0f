// Wall-clock times in the organization's time zone (default Asia/Shanghai), converted to UTC instants.

export function orgZone() {
  return sessionStorage.getItem("pg.tz") || "Asia/Shanghai";
}

/** Minutes the zone is ahead of UTC at the instant ms. */
function offsetMinutes(ms, timeZone) {
  const parts = Object.fromEntries(new Intl.DateTimeFormat("en-US", {
    timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(ms)).map((p) => [p.type, p.value]));
  const asUtc = Date.UTC(+parts.year, +parts.month - 1, +parts.day, +parts.hour, +parts.minute, +parts.second);
  return Math.round((asUtc - Math.floor(ms / 1000) * 1000) / 60000);
}

/** "2027-01-05T09:30" read as a wall-clock time in timeZone → ISO 8601 UTC. */
export function zonedToUtc(local, timeZone) {
  const [date, time = "00:00"] = local.split("T");
  const [y, m, d] = date.split("-").map(Number);
  const [hh, mm] = time.split(":").map(Number);
  const guess = Date.UTC(y, m - 1, d, hh, mm);
  let utc = guess - offsetMinutes(guess, timeZone) * 60000;
  const second = guess - offsetMinutes(utc, timeZone) * 60000;   // across a DST change
  if (second !== utc) utc = second;
  return new Date(utc).toISOString();
}

/** M5: a regular meeting is noticed at least 48 h ahead; a new one defaults to 49 h from now,
 *  so that the notice can still go out after it is prepared. */
export const MIN_NOTICE_MINUTES = 49 * 60;

/** Now plus minutes, as a datetime-local value in timeZone. */
export function defaultLocalTime(timeZone, plusMinutes = 30) {
  const ms = Date.now() + plusMinutes * 60000;
  const local = new Date(ms + offsetMinutes(ms, timeZone) * 60000);
  return local.toISOString().slice(0, 16);
}
