package numcheck

import (
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

// Row is one golden comparison: attn's errors and PyTorch float32's on the
// same case against the same float64 reference, and the bound attn's are
// held to.
type Row struct {
	Case        string
	Ours, Torch Errors
	Bound       Bound
}

// Margin is how much of the bound attn's error uses: the larger of
// Ours.Rel/Bound.Rel and Ours.MaxAbs/Bound.MaxAbs over the bounded sides;
// above 1 fails. It is +Inf when the row cannot pass.
func (r Row) Margin() float64 {
	if r.Ours.Bad != "" || r.Bound.Bad != "" {
		return math.Inf(1)
	}
	m := 0.0
	for _, p := range [][2]float64{{r.Ours.Rel, r.Bound.Rel}, {r.Ours.MaxAbs, r.Bound.MaxAbs}} {
		if math.IsInf(p[1], 1) || p[0] == 0 {
			continue
		}
		if q := p[0] / p[1]; Worse(q, m) {
			m = q
		}
	}
	return m
}

// Table collects golden rows, from any goroutine, to print them as one
// aligned table at the end of a package's tests.
type Table struct {
	mu   sync.Mutex
	rows []Row
}

// Add records r.
func (tab *Table) Add(r Row) {
	tab.mu.Lock()
	tab.rows = append(tab.rows, r)
	tab.mu.Unlock()
}

// Check records r and checks r.Ours against r.Bound (see Check).
func (tab *Table) Check(t TB, r Row) bool {
	t.Helper()
	tab.Add(r)
	return Check(t, r.Case, r.Ours, r.Bound)
}

// Len is the number of rows recorded.
func (tab *Table) Len() int {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return len(tab.rows)
}

// String is the table: a line per row in the order recorded, with the
// case, attn's, PyTorch's and the bound's relative error, then the same
// for the max abs error ("-" for a side that is not bounded), and a note on
// each row that fails.
func (tab *Table) String() string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	cells := [][]string{{"case", "attn rel", "PyTorch rel", "bound", "attn max abs", "PyTorch max abs", "bound", ""}}
	for _, r := range tab.rows {
		note := ""
		switch {
		case r.Ours.Bad != "":
			note = "FAIL: " + r.Ours.Bad
		case r.Bound.Bad != "":
			note = "FAIL: no bound: " + r.Bound.Bad
		case Exceeds(r.Margin(), 1):
			note = "FAIL"
		}
		cells = append(cells, []string{r.Case,
			errCell(r.Ours.Rel), errCell(r.Torch.Rel), boundCell(r.Bound.Rel),
			errCell(r.Ours.MaxAbs), errCell(r.Torch.MaxAbs), boundCell(r.Bound.MaxAbs), note})
	}
	width := make([]int, len(cells[0]))
	for _, row := range cells {
		for i, c := range row {
			width[i] = max(width[i], utf8.RuneCountInString(c))
		}
	}
	var sb strings.Builder
	for _, row := range cells {
		var line strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(c))
			switch {
			case i == 0: // names left, numbers right, the note last
				line.WriteString(c + pad)
			case i == len(row)-1:
				line.WriteString("  " + c)
			default:
				line.WriteString("  " + pad + c)
			}
		}
		sb.WriteString(strings.TrimRight(line.String(), " ") + "\n")
	}
	return sb.String()
}

func errCell(x float64) string { return fmt.Sprintf("%.2e", x) }

func boundCell(x float64) string {
	if math.IsInf(x, 1) {
		return "-"
	}
	return fmt.Sprintf("%.2e", x)
}

// Run runs a package's tests and then, under -v, prints the rows they
// recorded as one table; it returns m.Run's exit code, for a TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(goldenRows.Run(m)) }
func (tab *Table) Run(m *testing.M) int {
	code := m.Run()
	if testing.Verbose() && tab.Len() > 0 {
		fmt.Printf("attn against PyTorch float32, errors against the float64 reference (%d rows):\n%s", tab.Len(), tab.String())
	}
	return code
}
