package main

import (
	"errors"
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"cartstream/internal/checkoutsim"
)

// newSimulateCmd is the hidden `simulate` command: whole-system checkout
// simulations with an audit (internal/checkoutsim), for make targets and
// engineers, not for operators.
func newSimulateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:    "simulate",
		Short:  "Run a checkout simulation against an in-process broker and instance, and audit it",
		Hidden: true,
		Args:   cobra.NoArgs,
	}
	cmd.AddCommand(newFlashSaleCmd())
	return cmd
}

func newFlashSaleCmd() *cobra.Command {
	var (
		seed       int64
		carts      int
		units      int
		partitions int
		dataDir    string
		logLevel   string
		cpuProfile string
	)
	cmd := &cobra.Command{
		Use:   "flash-sale",
		Short: "One SKU, many carts checking out at once: print the audit's summary line",
		Long: `Start a broker and a cartstream instance in this process, stock one SKU, let
--carts carts each add one unit and check out at the same simulated instant
(10% of cart events delivered twice), complete every reserved checkout, and
audit the outcome. It prints one summary line; a correct run has
reserved_units equal to --units and oversold=0 double_applied=0
leaked_holds=0. It exits non-zero when the audit fails, printing the problems
and the command that replays the run.`,
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cpuProfile != "" {
				f, err := os.Create(cpuProfile)
				if err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer f.Close()
				if err := pprof.StartCPUProfile(f); err != nil {
					return fmt.Errorf("cpu profile: %w", err)
				}
				defer pprof.StopCPUProfile()
			}
			sc := checkoutsim.FlashSale(seed, carts, units)
			sc.Partitions = partitions
			sc.DataDir = dataDir
			sc.Logger = newLogger(cmd.ErrOrStderr(), logLevel, "text")
			sc.Replay = fmt.Sprintf("cartstream simulate flash-sale --seed %d --carts %d --units %d --partitions %d", seed, carts, units, partitions)
			sum, err := checkoutsim.Run(cmd.Context(), sc)
			if err != nil {
				return fmt.Errorf("flash sale (seed %d; replay: %s): %w", seed, sc.Replay, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), sum)
			if sum.Failed() {
				for _, p := range sum.Problems {
					fmt.Fprintln(cmd.ErrOrStderr(), p)
				}
				return errors.New("flash sale: the audit failed")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.Int64Var(&seed, "seed", 1, "seed of the simulation's choices")
	f.IntVar(&carts, "carts", checkoutsim.FlashSaleCarts, "carts that each check out one unit")
	f.IntVar(&units, "units", checkoutsim.FlashSaleUnits, "units of the SKU on sale")
	f.IntVar(&partitions, "partitions", checkoutsim.FlashSale(0, 1, 1).Partitions, "partition count of the topics")
	f.StringVar(&dataDir, "data-dir", "", "directory for the broker's log and the instance's state (empty: a temporary directory, removed after a run that passed)")
	f.StringVar(&logLevel, "log-level", "warn", "log level: debug, info, warn, error")
	f.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this file")
	return cmd
}
