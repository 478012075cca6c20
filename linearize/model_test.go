package linearize_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/insideout-go/insideout/internal/rapidcheck"

	"github.com/anishathalye/porcupine"
	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/internal/testdeadline"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// lockedStack is a correct stack, for the model mistakes below to be the
// only thing wrong. Each call waits a little before it takes the lock, so
// that calls overlap and the checker tries several orders (and compares
// the states it reaches).
type lockedStack struct {
	mu    sync.Mutex
	items []int
}

func (s *lockedStack) Push(v int) {
	time.Sleep(50 * time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.items = append(s.items, v)
}

func (s *lockedStack) Pop() (int, bool) {
	time.Sleep(50 * time.Microsecond)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.items) == 0 {
		return 0, false
	}
	v := s.items[len(s.items)-1]
	s.items = s.items[:len(s.items)-1]
	return v, true
}

// lockedScenario is ExampleScenario's stack scenario over the locked stack,
// against m, for 20 rounds of seed 0x2a.
func lockedScenario(m linearize.Spec[StackIn, StackOut]) linearize.Scenario[Stack, StackIn, StackOut] {
	sc := stackScenario("stack", func() Stack { return new(lockedStack) })
	sc.Model, sc.Seed, sc.Rounds, sc.Duration = m, 0x2a, 20, 0
	return sc
}

// A porcupine.Model whose state is a slice and that has no Equal: the
// same error as a Model's, before any round.
func TestPorcupineUncomparableStateIsAnError(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := lockedScenario(linearize.Porcupine[StackIn, StackOut](porcupine.Model{
		Init: func() any { return []int{} },
		Step: func(st, in, out any) (bool, any) { return true, append(st.([]int), 1) },
	}))
	sum, err := sc.Run()
	if err == nil || !strings.Contains(err.Error(), "Equal") || !strings.Contains(err.Error(), "[]int") || sum.Rounds != 0 {
		t.Fatalf("%d rounds, err %v: want an error naming []int and Equal, before any round", sum.Rounds, err)
	}
}

// The control: the correct model passes.
func TestModelCorrectStackPasses(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := lockedScenario(stackModel)
	if _, err := sc.Run(); err != nil {
		t.Fatal(err)
	}
}

// A slice state without Equal cannot be compared: the run must say so
// before any round, naming the fix, never crash inside porcupine with
// "comparing uncomparable type".
func TestModelUncomparableStateIsAnError(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := stackModel
	m.Equal = nil
	sc := lockedScenario(m)
	sum, err := sc.Run()
	if err == nil || !strings.Contains(err.Error(), "Model.Equal") || !strings.Contains(err.Error(), "[]int") || sum.Rounds != 0 {
		t.Fatalf("%d rounds, err %v: want an error naming []int and Model.Equal, before any round", sum.Rounds, err)
	}
}

// A model that panics is a mistake in the test: one clear error, with the
// seed and round, never a crash inside porcupine's goroutines. Each case
// names the mistake.
func TestModelMistakesAreReported(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	cases := []struct {
		name  string
		spec  linearize.Spec[StackIn, StackOut]
		cause string
	}{
		{"step panics", func() linearize.Spec[StackIn, StackOut] {
			m := stackModel
			m.Step = func(st []int, in StackIn, out StackOut) (bool, []int) { return true, st[:len(st)-1] }
			return m
		}(), "Model.Step panicked"},
		{"equal panics", func() linearize.Spec[StackIn, StackOut] {
			m := stackModel
			m.Equal = func(a, b []int) bool { panic("no states to compare") }
			return m
		}(), "Model.Equal panicked"},
		// A porcupine.Model that wants the output as a pointer, where the
		// operations return values: the newcomer's &out slip.
		{"porcupine output type", linearize.Porcupine[StackIn, StackOut](porcupine.Model{
			Init: func() any { return 0 },
			Step: func(st, in, out any) (bool, any) { return out.(*StackOut).Ok, st },
		}), "Model.Step panicked: interface conversion"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sc := lockedScenario(c.spec)
			_, err := sc.Run()
			var f *linearize.Failure
			if !errors.As(err, &f) || f.Model == nil {
				t.Fatalf("err %v: want a Failure naming the model's mistake", err)
			}
			msg := f.Error()
			for _, want := range []string{c.cause, "the model failed", "seed 0x2a", "INSIDEOUT_ROUND="} {
				if !strings.Contains(msg, want) {
					t.Errorf("the report lacks %q:\n%s", want, msg)
				}
			}
		})
	}
}

// A DescribeOperation that assumes an output (it gets none in a program)
// must not lose the report of a real bug: the program falls back to
// name(input), and the failure and its seed still come out. It would catch
// a Format that called DescribeOperation unguarded.
func TestDescribeThatPanicsKeepsTheReport(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	m := model.Queue()
	describe := m.DescribeOperation
	m.DescribeOperation = func(in, out any) string {
		_ = out.(model.QueueOutput) // panics for a program's nil output
		return describe(in, out)
	}
	sc := queuetest.Scenario("lifo", func() spec.Queue[int] { return queuetest.BadQueue[int](queuetest.LIFO, 0) })
	sc.Model = linearize.Porcupine[model.QueueInput, model.QueueOutput](m)
	sc.Seed, sc.ReportDir = 0x2a, t.TempDir()
	_, err := sc.Run()
	var f *linearize.Failure
	if !errors.As(err, &f) || f.Verdict != linearize.Illegal || !strings.Contains(f.Program, "push(") || f.Report == "" {
		t.Fatalf("a LIFO queue with a describe that panics: want an Illegal report with the program, got %v", err)
	}
}

// Rounds and Duration bound a run, and INSIDEOUT_DURATION overrides both.
// It would catch a budget ignored (a run of 100 rounds where 80ms were
// asked, or of 80ms where 3 rounds were), or an environment that did not
// reach the scenario.
func TestRunBudget(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	sc := queuetest.Scenario("q", func() spec.Queue[int] { return queuetest.BadQueue[int](queuetest.Correct, 0) })
	sc.Finally = func(spec.Queue[int], linearize.Caller[model.QueueInput, model.QueueOutput]) {
		time.Sleep(2 * time.Millisecond)
	}
	sc.Duration = 80 * time.Millisecond
	sum, err := sc.Run()
	if err != nil || sum.Elapsed < 80*time.Millisecond || sum.Rounds >= 100 || sum.Rounds < 2 {
		t.Fatalf("Duration 80ms: %d rounds in %v, err %v", sum.Rounds, sum.Elapsed, err)
	}
	sc.Rounds, sc.Duration = 3, 10*time.Second
	if sum, err = sc.Run(); err != nil || sum.Rounds != 3 {
		t.Fatalf("Rounds 3, Duration 10s: %d rounds, err %v", sum.Rounds, err)
	}
	t.Setenv("INSIDEOUT_DURATION", "80ms")
	if sum, err = sc.Run(); err != nil || sum.Rounds <= 3 || sum.Elapsed < 80*time.Millisecond {
		t.Fatalf("INSIDEOUT_DURATION=80ms over Rounds 3: %d rounds in %v, err %v", sum.Rounds, sum.Elapsed, err)
	}
	t.Setenv("INSIDEOUT_DURATION", "soon")
	if _, err = sc.Run(); err == nil || !strings.Contains(err.Error(), "INSIDEOUT_DURATION") {
		t.Fatalf("INSIDEOUT_DURATION=soon: err %v, want one naming the variable", err)
	}
}

// Test logs the seed before the first round, so that a run killed by a
// hang still says how to replay it; a failure's replay line names the
// test. It would catch the seed logged only after Run returns.
func TestTestLogsTheSeedFirst(t *testing.T) {
	testdeadline.Guard(t, testdeadline.Default)
	fake := rapidcheck.NewRecorder("TestStack")
	var logsBefore int
	sc := queuetest.Scenario("lifo", func() spec.Queue[int] {
		if logsBefore == 0 {
			logsBefore = len(fake.Logs())
		}
		return queuetest.BadQueue[int](queuetest.LIFO, 0)
	})
	sc.Seed, sc.ReportDir = 0x2a, t.TempDir()
	func() {
		defer func() { recover() }() // a Recorder's Fatal does not stop Test, which may then panic
		sc.Test(fake)
	}()
	if logsBefore == 0 || !strings.Contains(fake.Logs()[0], "seed 0x2a") {
		t.Fatalf("logs before the first round: %d; first log %q", logsBefore, fake.Logs())
	}
	if !fake.Failed() || !strings.Contains(fake.Message(), "INSIDEOUT_SEED=0x2a INSIDEOUT_ROUND=") || !strings.Contains(fake.Message(), "go test -run '^TestStack$'") {
		t.Fatalf("failed %v; the failure's replay line: %s", fake.Failed(), fake.Message())
	}
}
