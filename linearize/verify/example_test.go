package verify_test

import (
	"context"
	"fmt"
	"io"

	"github.com/insideout-go/insideout/impl/queue/queuetest"
	"github.com/insideout-go/insideout/linearize"
	"github.com/insideout-go/insideout/linearize/campaign"
	"github.com/insideout-go/insideout/linearize/verify"
	"github.com/insideout-go/insideout/model"
	"github.com/insideout-go/insideout/spec"
)

// A command of your own runs your campaigns beside insideout's, with the
// same flags, table and exit statuses. Its main is
//
//	func main() { os.Exit(verify.Main(os.Args[1:], campaigns)) }
//
// Here Run stands in for Main, with the command line given and the table
// discarded; the campaign of your own checks impl/queue with a scenario of
// two producers and two consumers.
func Example_ownCommand() {
	mine := campaign.FromScenario("queue-roles", "impl/queue: producers and consumers apart",
		func() linearize.Scenario[spec.Queue[int], model.QueueInput, model.QueueOutput] {
			sc := queuetest.Scenario("queue-roles", queuetest.NewQueue)
			sc.Roles = [][]int{{1, 0}, {0, 1}}
			return sc
		})
	campaigns := append(campaign.All(), mine)
	args := []string{"verify", "-duration", "400ms", "-only", "queue,queue-roles"}
	code := verify.Run(context.Background(), args, io.Discard, io.Discard, campaigns)
	fmt.Println("exit status", code)
	// Output: exit status 0
}
