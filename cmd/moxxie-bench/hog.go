package main

import (
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// hogFlag makes this binary a CPU hog: one thread spinning until the given time has passed.
const hogFlag = "-hog"

// runHog spins on one thread for d: a separate process, so the load it adds is the operating
// system's to schedule against terraform and the provider, as another tenant's would be.
func runHog(d time.Duration) {
	runtime.GOMAXPROCS(1)
	end := time.Now().Add(d)
	x := uint64(1)
	for time.Now().Before(end) {
		for i := 0; i < 1<<20; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	if x == 0 { // keeps the loop from being optimised away
		fmt.Println(x)
	}
}

// startHogs starts n hog processes, each ending by itself after at most limit; stop ends them
// earlier and waits for them.
func startHogs(n int, limit time.Duration) (stop func(), err error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	var cmds []*exec.Cmd
	stop = func() {
		for _, c := range cmds {
			_ = c.Process.Kill()
			_ = c.Wait()
		}
	}
	for i := 0; i < n; i++ {
		c := exec.Command(self, hogFlag, limit.String())
		if err := c.Start(); err != nil {
			stop()
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return stop, nil
}
