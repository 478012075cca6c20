package linearize

import (
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// maxReportSteps bounds the rows of a schedule report: a run that hit the
// step limit has hundreds of thousands.
const maxReportSteps = 5000

// writeScheduleReport writes one self-contained HTML page for f, a failure
// under the controlled scheduler, into dir: the cause, the token and the
// program; the interleaving, a column per goroutine and a row per step,
// each cell the kind of step and its file:line; and, when the history was
// found not linearizable, porcupine's history view, embedded. The page
// loads nothing from the network. It sets f.Report to the page's path.
func writeScheduleReport(dir string, f *Failure) {
	var viz []byte
	if f.Report != "" {
		viz, _ = os.ReadFile(f.Report) // porcupine's page, if it wrote one
	}
	name := fmt.Sprintf("%s-schedule-%d.html", sanitize(f.Scenario), time.Now().UnixNano())
	if f.Seed != 0 {
		name = fmt.Sprintf("%s-seed-%#x-round-%d-schedule.html", sanitize(f.Scenario), f.Seed, f.Round)
	}
	path := filepath.Join(dir, name)
	var b strings.Builder
	e := html.EscapeString
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s: schedule</title><style>"+
		"body{font-family:sans-serif;margin:1em}pre{background:#f4f4f4;padding:.5em}"+
		"table{border-collapse:collapse;font-family:monospace;font-size:12px}"+
		"td,th{border:1px solid #ddd;padding:1px 6px;white-space:nowrap}th{position:sticky;top:0;background:#eee}"+
		"td.n{color:#888;text-align:right}iframe{width:100%%;height:80vh;border:1px solid #ccc}"+
		"</style></head><body>\n", e(f.Scenario))
	fmt.Fprintf(&b, "<h1>%s</h1>\n<p>%s</p>\n", e(f.Scenario), e(f.cause()))
	for _, p := range f.Problems {
		fmt.Fprintf(&b, "<p>%s</p>\n", e(p))
	}
	fmt.Fprintf(&b, "<h2>Program</h2>\n<pre>%s</pre>\n", e(f.Program))
	fmt.Fprintf(&b, "<h2>Schedule</h2>\n<p>%s</p>\n", e(f.Schedule))
	if f.Token != "" {
		fmt.Fprintf(&b, "<p>Token (replays it exactly): <code>%s</code></p>\n", e(f.Token))
	}
	goroutines := 0
	for _, ev := range f.Trace {
		goroutines = max(goroutines, ev.G+1)
	}
	from := max(0, len(f.Trace)-maxReportSteps)
	if from > 0 {
		fmt.Fprintf(&b, "<p>The first %d steps are left out.</p>\n", from)
	}
	b.WriteString("<table><tr><th>step</th>")
	for g := range goroutines {
		who := fmt.Sprintf("client %d", g-1)
		if g == 0 {
			who = "driver"
		}
		fmt.Fprintf(&b, "<th>g%d (%s)</th>", g, who)
	}
	b.WriteString("</tr>\n")
	for i, ev := range f.Trace[from:] {
		fmt.Fprintf(&b, "<tr><td class=n>%d</td>%s<td>%s %s</td>%s</tr>\n", from+i+1,
			strings.Repeat("<td></td>", ev.G), e(ev.Op), e(ev.At), strings.Repeat("<td></td>", goroutines-ev.G-1))
	}
	b.WriteString("</table>\n")
	if len(viz) > 0 {
		fmt.Fprintf(&b, "<h2>History (porcupine)</h2>\n<iframe srcdoc=\"%s\"></iframe>\n", e(string(viz)))
	}
	b.WriteString("</body></html>\n")
	err := os.MkdirAll(dir, 0o755)
	if err == nil {
		err = os.WriteFile(path, []byte(b.String()), 0o644)
	}
	if err != nil {
		f.Report = "(could not write the schedule report: " + err.Error() + ")"
		return
	}
	f.Report = path
}
