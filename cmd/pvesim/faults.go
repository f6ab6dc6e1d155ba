package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/pvesim"
)

// faultFlags registers the fault flags, which apply to every datacenter.
func faultFlags(fs *flag.FlagSet, f *pvesim.Faults) {
	fs.DurationVar(&f.Latency, "latency", 0, "added before every request, e.g. 50ms")
	fs.DurationVar(&f.Jitter, "jitter", 0, "uniform extra latency 0..jitter")
	fs.Float64Var(&f.Error503Rate, "error-rate", 0, "share of requests answered 503 Service Unavailable (0..1)")
	fs.Float64Var(&f.DropBeforeRate, "drop-before-rate", 0, "share of requests whose connection is reset before they are applied")
	fs.Float64Var(&f.DropAfterRate, "drop-after-rate", 0, "share of requests applied, then reset without an answer")
	fs.Float64Var(&f.TaskFailRate, "task-fail-rate", 0, "share of tasks that fail having done nothing")
	fs.DurationVar(&f.TaskExtra, "task-extra", 0, "added to every task's duration")
	fs.BoolVar(&f.DuplicateNextID, "duplicate-nextid", false, "/cluster/nextid also hands out ids whose create is in flight")
	fs.Int64Var(&f.Seed, "seed", 0, "seed of the fault RNG (same seed, same faults)")
}

// flagNames rewrites Validate's field names as the flags users typed.
var flagNames = strings.NewReplacer(
	"Error503Rate", "-error-rate", "DropBeforeRate", "-drop-before-rate",
	"DropAfterRate", "-drop-after-rate", "TaskFailRate", "-task-fail-rate",
	"Latency", "-latency", "Jitter", "-jitter", "TaskExtra", "-task-extra",
)

func validateFaultFlags(f pvesim.Faults) error {
	if err := f.Validate(); err != nil {
		return errors.New(flagNames.Replace(err.Error()))
	}
	return nil
}

// duration is a time.Duration in JSON: written as "50ms", read from such a
// string or from nanoseconds (how encoding/json writes pvesim.Faults).
type duration time.Duration

func (d duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

func (d *duration) UnmarshalJSON(b []byte) error {
	if bytes.HasPrefix(b, []byte(`"`)) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = duration(v)
		return nil
	}
	var ns int64
	if err := json.Unmarshal(b, &ns); err != nil {
		return fmt.Errorf("duration: want \"50ms\" or nanoseconds, got %s", b)
	}
	*d = duration(ns)
	return nil
}

// faultsDoc is pvesim.Faults as /faults reads and writes it. Keys are the
// field names (matched case-insensitively), so a marshalled Faults value
// is accepted as is.
type faultsDoc struct {
	Latency         duration `json:"latency"`
	Jitter          duration `json:"jitter"`
	Error503Rate    float64  `json:"error503Rate"`
	DropBeforeRate  float64  `json:"dropBeforeRate"`
	DropAfterRate   float64  `json:"dropAfterRate"`
	TaskFailRate    float64  `json:"taskFailRate"`
	TaskExtra       duration `json:"taskExtra"`
	DuplicateNextID bool     `json:"duplicateNextID"`
	Seed            int64    `json:"seed"`
}

func docOf(f pvesim.Faults) faultsDoc {
	return faultsDoc{
		Latency: duration(f.Latency), Jitter: duration(f.Jitter),
		Error503Rate: f.Error503Rate, DropBeforeRate: f.DropBeforeRate, DropAfterRate: f.DropAfterRate,
		TaskFailRate: f.TaskFailRate, TaskExtra: duration(f.TaskExtra),
		DuplicateNextID: f.DuplicateNextID, Seed: f.Seed,
	}
}

func (d faultsDoc) faults() pvesim.Faults {
	return pvesim.Faults{
		Latency: time.Duration(d.Latency), Jitter: time.Duration(d.Jitter),
		Error503Rate: d.Error503Rate, DropBeforeRate: d.DropBeforeRate, DropAfterRate: d.DropAfterRate,
		TaskFailRate: d.TaskFailRate, TaskExtra: time.Duration(d.TaskExtra),
		DuplicateNextID: d.DuplicateNextID, Seed: d.Seed,
	}
}

// mergeFaults applies a JSON body onto cur: keys it names change, the
// others keep their value. Unknown keys and invalid values are errors.
func mergeFaults(cur pvesim.Faults, body []byte) (pvesim.Faults, error) {
	doc := docOf(cur)
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return cur, err
	}
	f := doc.faults()
	if err := f.Validate(); err != nil {
		return cur, err
	}
	return f, nil
}
