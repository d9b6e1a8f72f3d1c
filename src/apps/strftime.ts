/**
 * nsq_to_file's `--datetime-format` (upstream `apps/nsq_to_file/strftime.go`): the strftime codes
 * `%Y %y %m %d %H %I %M %S %p %B %b %A %a %Z %z %%` in local time; any other `%x` stays as it is.
 *
 * Upstream passes the result through Go's `time.Format`, so literal text that looks like a Go
 * layout token (`2006`, `01`, `Jan`, `PM`…) is replaced too; that is a bug and is not reproduced.
 */

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

function p2(n: number): string {
  return n < 10 ? "0" + n : String(n);
}

function zoneName(d: Date): string {
  const part = new Intl.DateTimeFormat("en-US", { timeZoneName: "short" }).formatToParts(d)
    .find((p) => p.type === "timeZoneName");
  return part?.value ?? "UTC";
}

function zoneOffset(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const a = Math.abs(off);
  return `${sign}${p2(Math.floor(a / 60))}${p2(a % 60)}`;
}

/**
 * Formats `d` (local time) with strftime codes.
 * @example
 * ```ts
 * import { strftime } from "./strftime.ts";
 * strftime("%Y-%m-%d_%H", new Date(2024, 0, 2, 3)); // "2024-01-02_03"
 * ```
 */
export function strftime(format: string, d: Date): string {
  let out = "";
  for (let i = 0; i < format.length; i++) {
    const c = format[i];
    if (c !== "%" || i + 1 >= format.length) {
      out += c;
      continue;
    }
    const code = format[++i];
    switch (code) {
      case "Y":
        out += String(d.getFullYear()).padStart(4, "0");
        break;
      case "y":
        out += p2(d.getFullYear() % 100);
        break;
      case "m":
        out += p2(d.getMonth() + 1);
        break;
      case "d":
        out += p2(d.getDate());
        break;
      case "H":
        out += p2(d.getHours());
        break;
      case "I":
        out += p2(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12);
        break;
      case "M":
        out += p2(d.getMinutes());
        break;
      case "S":
        out += p2(d.getSeconds());
        break;
      case "p":
        out += d.getHours() < 12 ? "AM" : "PM";
        break;
      case "B":
        out += MONTHS[d.getMonth()];
        break;
      case "b":
        out += MONTHS[d.getMonth()].slice(0, 3);
        break;
      case "A":
        out += DAYS[d.getDay()];
        break;
      case "a":
        out += DAYS[d.getDay()].slice(0, 3);
        break;
      case "Z":
        out += zoneName(d);
        break;
      case "z":
        out += zoneOffset(d);
        break;
      case "%":
        out += "%";
        break;
      default:
        out += "%" + code;
    }
  }
  return out;
}
