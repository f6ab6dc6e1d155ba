// Package migration moves a VM between datacenters with PVE's remote_migrate. It is the one move
// engine: moxxie_dc_migration and a datacenter change of moxxie_vm both call Engine.Move.
//
// A move finds every copy of the identity in every datacenter, checks everything PVE would
// refuse before touching the VM (preflight), marks the VM with a move tag that travels with its
// config, stops it (offline), runs the qmigrate task, puts each NIC on its target network with
// an address of the target's allocation, starts it again and removes the tag. A failure after
// the stop starts the source again; an interruption (cancelled context, killed provider, lost
// answer) is finished by the next Move from wherever the identity then lives: the tag says
// where it came from and whether it ran, so nothing moves twice and the true source is known.
package migration

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/moxxie/terraform-provider-moxxie/internal/dcrouter"
	"github.com/moxxie/terraform-provider-moxxie/internal/vm"
)

// shutdownTimeoutSec is how long the guest may take to shut down before PVE stops it.
const shutdownTimeoutSec = 120

// Phase is a step of a move, as logged and recorded in a migration's status.
type Phase string

const (
	PhasePreflight Phase = "preflight"
	PhaseShutdown  Phase = "shutdown"
	PhaseTransfer  Phase = "transfer"
	PhaseRemap     Phase = "remap"
	PhaseStart     Phase = "start"
	PhaseCleanup   Phase = "cleanup"
	PhaseCompleted Phase = "completed"
)

// Datacenter is what the engine needs of one datacenter.
type Datacenter struct {
	Client  *dcrouter.Client
	Config  dcrouter.Config // normalized; the target's goes into target-endpoint
	Storage string          // default target storage
}

// Engine moves VMs between the given datacenters.
type Engine struct {
	DCs  map[string]Datacenter
	Nets *Networks
	// Progress is told each phase as it begins (e.g. tflog at INFO); nil: silent.
	Progress func(ctx context.Context, phase Phase, msg string)
	// Poll is how often a move in flight elsewhere is looked at again; 0: 500ms.
	Poll time.Duration
	// ReleaseHA takes a VM out of the node rules moxxie wrote for it (and out of HA, which
	// remote migration refuses) before the move; the target's rules are written after it. nil:
	// an HA-managed VM is refused like any other.
	ReleaseHA func(ctx context.Context, c *dcrouter.Client, vmid int) error
}

// Request is one move.
type Request struct {
	ID           string // the VM's identity
	Name         string // for messages; "" uses the VM's PVE name
	Target       string
	Live         bool
	NICs         NICPlan
	Storage      map[string]string // source storage -> target storage; others go to the target's default
	TargetNode   string            // optional: land on this node
	BandwidthKiB int
	// RequireMove makes a VM that is already in Target (with no move in flight) an error:
	// a migration record must not claim a move that did not happen.
	RequireMove bool
	// UPID of a qmigrate task an earlier, interrupted call started, if known.
	UPID string
	// OnTask is told the qmigrate task's UPID as soon as PVE answers, so an interruption can
	// be resumed by task.
	OnTask func(upid string)

	resent int // how often a lost answer made this call wait for a task it did not see start
}

// Result says what happened and where the VM is now.
type Result struct {
	SourceDC     string
	SourceVMID   int
	TargetVMID   int
	TargetNode   string
	StartedAt    time.Time
	CompletedAt  time.Time
	Resumed      bool // an interrupted move was finished
	AlreadyThere bool // nothing to move: the VM was in the target
	Warnings     []string
}

// ErrNotFound means no datacenter holds the identity.
var ErrNotFound = errors.New("VM not found")

// AlreadyThereError is a move to the datacenter the VM is in.
type AlreadyThereError struct{ VM, DC string }

func (e *AlreadyThereError) Error() string {
	return fmt.Sprintf("%s is already in datacenter %s; a migration needs another target datacenter", e.VM, e.DC)
}

// InterruptedError is a move cut short while PVE's task may go on; the next Move finishes it.
type InterruptedError struct {
	VM, Source, Target string
	Phase              Phase
	UPID               string
	Err                error
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("moving %s from %s to %s was interrupted during %s (%v); the task may still run in PVE: apply again to finish the move, which resumes where it stands", e.VM, e.Source, e.Target, e.Phase, e.Err)
}

func (e *InterruptedError) Unwrap() error { return e.Err }

func (e *Engine) log(ctx context.Context, p Phase, format string, a ...any) {
	if e.Progress != nil {
		e.Progress(ctx, p, fmt.Sprintf(format, a...))
	}
}

func (e *Engine) clients() []*dcrouter.Client {
	out := make([]*dcrouter.Client, 0, len(e.DCs))
	for _, name := range slices.Sorted(maps.Keys(e.DCs)) {
		out = append(out, e.DCs[name].Client)
	}
	return out
}

// Find looks for the identity in every datacenter of the engine.
func (e *Engine) Find(ctx context.Context, id string) Found {
	for _, c := range e.clients() {
		c.ForgetResources() // a move changes datacenters behind the cached view
	}
	return Find(ctx, e.clients(), id)
}

func vmName(req Request, name string) string {
	if req.Name != "" {
		return "VM " + req.Name
	}
	if name != "" {
		return "VM " + name
	}
	return "VM moxxie-" + req.ID
}

// Move brings the VM with req.ID to req.Target, from wherever it is, finishing a move an earlier
// call left in flight.
func (e *Engine) Move(ctx context.Context, req Request) (Result, error) {
	res := Result{StartedAt: time.Now().UTC()}
	_, ok := e.DCs[req.Target]
	if !ok {
		return res, fmt.Errorf("unknown target datacenter %q", req.Target)
	}
	poll := e.Poll
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	taskEnded := false // the known task of an earlier call has ended
	for {
		f := e.Find(ctx, req.ID)
		if err, down := f.Down[req.Target]; down {
			return res, fmt.Errorf("target datacenter %s could not be asked where %s is: %w", req.Target, vmName(req, ""), err)
		}
		if busy := lockedCopy(f); busy != nil {
			// A qmigrate task runs (ours, interrupted, or someone's): wait for its end.
			if taskEnded {
				return res, fmt.Errorf("%s (%s) is still locked by a migration whose task %s has ended; read the task log, and once the VM is where it belongs remove the lock with qm unlock %d", vmName(req, busy.Name), busy, req.UPID, busy.VMID)
			}
			e.log(ctx, PhaseTransfer, "waiting for the migration task of %s (%s) to end", vmName(req, busy.Name), busy)
			ended, err := e.waitTask(ctx, req.UPID, *busy, poll)
			if err != nil {
				return res, &InterruptedError{VM: vmName(req, busy.Name), Source: busy.DC, Target: req.Target, Phase: PhaseTransfer, UPID: req.UPID, Err: err}
			}
			taskEnded = ended
			continue
		}
		switch {
		case len(f.Copies) == 0 && len(f.Down) > 0:
			return res, fmt.Errorf("%s is in no datacenter that answered; %s could not be asked: %v", vmName(req, ""), strings.Join(slices.Sorted(maps.Keys(f.Down)), ", "), firstErr(f.Down))
		case len(f.Copies) == 0:
			return res, fmt.Errorf("%w: no datacenter holds a VM with identity moxxie-%s", ErrNotFound, req.ID)
		case len(f.Copies) > 1:
			return res, &SplitError{ID: req.ID, Copies: f.Copies}
		}
		c := f.Copies[0]
		if c.DC == req.Target {
			if c.Move == nil {
				if req.RequireMove {
					return res, &AlreadyThereError{VM: vmName(req, c.Name), DC: c.DC}
				}
				now := time.Now().UTC()
				return Result{SourceDC: c.DC, SourceVMID: c.VMID, TargetVMID: c.VMID, TargetNode: c.Node, StartedAt: now, CompletedAt: now, AlreadyThere: true}, nil
			}
			// It arrived; what follows the transfer did not happen (or not all of it).
			e.log(ctx, PhaseRemap, "%s arrived in %s from %s earlier; finishing the move", vmName(req, c.Name), c.DC, c.Move.SourceDC)
			res.Resumed = true
			return e.finish(ctx, req, res, c, nil)
		}
		if c.Move != nil {
			// An earlier attempt stopped before the transfer (or its task failed): put the VM
			// back as it was, then move it.
			if _, err := e.restore(ctx, req, c); err != nil {
				return res, err
			}
			continue
		}
		return e.start(ctx, req, res, c)
	}
}

func hasField(ps []Problem, f Field) bool {
	for _, p := range ps {
		if p.Field == f {
			return true
		}
	}
	return false
}

func firstErr(m map[string]error) error {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		return m[k]
	}
	return nil
}

func lockedCopy(f Found) *Copy {
	for i := range f.Copies {
		if f.Copies[i].Lock == "migrate" {
			return &f.Copies[i]
		}
	}
	return nil
}

// waitTask waits for a move in flight: by its task when known (ended reports that it has
// ended), else one poll interval, after which the caller looks again.
func (e *Engine) waitTask(ctx context.Context, upid string, busy Copy, poll time.Duration) (ended bool, err error) {
	if upid != "" {
		if u, err := dcrouter.ParseUPID(upid); err == nil && u.Node == busy.Node {
			if d, ok := e.DCs[busy.DC]; ok {
				err := d.Client.WaitTask(ctx, upid)
				if ctx.Err() != nil {
					return false, ctx.Err()
				}
				var te *dcrouter.TaskError
				if err == nil || errors.As(err, &te) {
					return true, nil // ended (either way): look where the VM is now
				}
			}
		}
	}
	t := time.NewTimer(poll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false, ctx.Err()
	case <-t.C:
		return false, nil
	}
}

// restore undoes what a failed or interrupted attempt left on the source: its move tag, and a
// stop when the VM ran.
func (e *Engine) restore(ctx context.Context, req Request, c Copy) (started bool, err error) {
	src := e.DCs[c.DC].Client
	_, cur, err := vm.Observe(ctx, src, c.Node, c.VMID, "")
	if err != nil {
		return false, err
	}
	if c.Move.WasRunning && !cur.Running {
		e.log(ctx, PhaseStart, "starting %s again in %s: the move stopped it and did not finish", vmName(req, cur.Name), c.DC)
		if err := vm.Start(ctx, src, c.Node, c.VMID); err != nil {
			return false, fmt.Errorf("%s was left stopped in %s by a move and cannot be started: %w", vmName(req, cur.Name), c.DC, err)
		}
		started = true
	}
	return started, setMarker(ctx, src, c.Node, c.VMID, req.ID, cur.Tags, nil)
}

// setMarker writes the VM's tags with the move marker m (nil: without it).
func setMarker(ctx context.Context, c *dcrouter.Client, node string, vmid int, id string, user []string, m *Marker) error {
	tags := append([]string(nil), user...)
	if m != nil {
		tags = append(tags, m.tag())
	}
	return c.UpdateVMConfig(ctx, node, vmid, map[string]any{"tags": vm.JoinTags(id, tags)})
}

// start is a fresh move of copy c.
func (e *Engine) start(ctx context.Context, req Request, res Result, c Copy) (Result, error) {
	srcDC := e.DCs[c.DC]
	src, dst := srcDC.Client, e.DCs[req.Target].Client
	res.SourceDC, res.SourceVMID = c.DC, c.VMID
	j, problems, err := e.judge(ctx, req, c)
	if err != nil {
		return res, err
	}
	cur, cfg, nics, storage := j.cur, j.cfg, j.nics, j.storage
	name := vmName(req, cur.Name)
	e.log(ctx, PhasePreflight, "checking the move of %s from %s to %s", name, c.DC, req.Target)
	endpoint, warn, err := e.endpointFor(ctx, req)
	if err != nil && !hasField(problems, FieldNode) {
		problems = append(problems, Problem{Field: FieldTarget, Msg: err.Error()})
	}
	if len(problems) > 0 {
		return res, &PreflightError{VM: fmt.Sprintf("%s (%s, VMID %d)", name, c.DC, c.VMID), Problems: problems}
	}
	if warn != "" {
		res.Warnings = append(res.Warnings, warn)
	}
	if e.ReleaseHA != nil {
		if err := e.ReleaseHA(ctx, src, c.VMID); err != nil {
			return res, fmt.Errorf("taking %s in %s out of its HA node rules for the move: %w", name, c.DC, err)
		}
	}
	mark := &Marker{SourceDC: c.DC, SourceVMID: c.VMID, WasRunning: cur.Running}
	if err := setMarker(ctx, src, c.Node, c.VMID, req.ID, cur.Tags, mark); err != nil {
		return res, fmt.Errorf("marking %s in %s for the move: %w", name, c.DC, err)
	}
	// From here on the VM was touched: every failure puts it back (startAgain) or says how the
	// next apply finishes it.
	startAgain := func(cause error) error {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
		defer cancel()
		started, err := e.restore(rctx, req, Copy{DC: c.DC, Node: c.Node, VMID: c.VMID, Move: mark})
		switch {
		case err != nil:
			return fmt.Errorf("%w; putting %s back in %s failed too: %v", cause, name, c.DC, err)
		case started:
			return fmt.Errorf("%w; %s was started again in %s", cause, name, c.DC)
		case mark.WasRunning:
			return fmt.Errorf("%w; %s keeps running in %s", cause, name, c.DC)
		}
		return fmt.Errorf("%w; %s stays (stopped, as it was) in %s", cause, name, c.DC)
	}
	if cur.Running && !req.Live {
		e.log(ctx, PhaseShutdown, "shutting %s down in %s for an offline move to %s", name, c.DC, req.Target)
		upid, err := src.ShutdownVM(ctx, c.Node, c.VMID, shutdownTimeoutSec, true)
		if err == nil {
			err = src.WaitTask(ctx, upid)
			if ctx.Err() != nil {
				// The shutdown task goes on in PVE: let it end before starting the VM again,
				// or it would stop the VM after the restart.
				wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
				_ = src.WaitTask(wctx, upid)
				cancel()
			}
		}
		if err != nil {
			return res, startAgain(fmt.Errorf("shutting %s down in %s: %w", name, c.DC, err))
		}
	}
	params := map[string]any{
		"target-endpoint": endpoint,
		"target-storage":  storageMap(cfg, storage),
		"target-bridge":   j.bridges,
		"delete":          true, // one identity answers from one datacenter only
	}
	if req.Live {
		params["online"] = true
	}
	if req.BandwidthKiB > 0 {
		params["bwlimit"] = req.BandwidthKiB
	}
	e.log(ctx, PhaseTransfer, "migrating %s from %s to %s", name, c.DC, req.Target)
	var upid string
	var taskErr error
	for attempt := 0; attempt < 5; attempt++ {
		next, err := dst.NextID(ctx)
		if err != nil {
			taskErr = err
			break
		}
		params["target-vmid"] = next
		upid, taskErr = src.RemoteMigrate(ctx, c.Node, c.VMID, params)
		if taskErr == nil {
			res.TargetVMID = next
			if req.OnTask != nil {
				req.OnTask(upid)
			}
			if taskErr = src.WaitTask(ctx, upid); taskErr != nil && ctx.Err() == nil {
				taskErr = withTaskLog(ctx, src, upid, taskErr)
			}
		}
		if taskErr == nil || !dcrouter.IsAlreadyExists(taskErr) {
			break
		}
	}
	if ctx.Err() != nil {
		if upid == "" {
			// No task started: nothing runs in PVE, so the VM goes back now.
			return res, startAgain(fmt.Errorf("moving %s was cancelled before its migration task started: %w", name, ctx.Err()))
		}
		return res, &InterruptedError{VM: name, Source: c.DC, Target: req.Target, Phase: PhaseTransfer, UPID: upid, Err: ctx.Err()}
	}
	if taskErr != nil {
		// The answer may be lost while the task went through: look before putting it back.
		f := e.Find(ctx, req.ID)
		if arrived := f.In(req.Target); len(arrived) == 1 && len(f.Copies) == 1 && arrived[0].Lock == "" {
			return e.finish(ctx, req, res, arrived[0], nil)
		}
		if lockedCopy(f) != nil {
			// A migration task holds the VM although ours failed: the answer that started it
			// was lost and the resent request refused ("locked"). Wait for that task instead.
			if req.resent < 2 {
				req.resent++
				// upid is the refused request's task, which has ended; the task holding the
				// lock is unknown, so the lock itself is watched until it clears.
				req.UPID = ""
				return e.Move(ctx, req)
			}
			return res, &InterruptedError{VM: name, Source: c.DC, Target: req.Target, Phase: PhaseTransfer, UPID: upid, Err: taskErr}
		}
		return res, startAgain(fmt.Errorf("migrating %s from %s to %s: %w", name, c.DC, req.Target, taskErr))
	}
	dst.ForgetResources() // the VM arrived through the source, not this client
	tloc, found, err := vm.LocateVMID(ctx, dst, res.TargetVMID)
	if err != nil || !found {
		return res, fmt.Errorf("%s was migrated to %s but cannot be found there as VMID %d (%v); apply again to finish the move", name, req.Target, res.TargetVMID, err)
	}
	return e.finish(ctx, req, res, Copy{DC: req.Target, Node: tloc.Node, VMID: res.TargetVMID, Status: tloc.Status, Move: mark}, nics)
}

// finish does what follows the transfer for the VM in the target: NICs and addresses, start,
// the tag. planned are the NIC targets of this call's preflight; nil after an interruption.
func (e *Engine) finish(ctx context.Context, req Request, res Result, c Copy, planned []NICTarget) (Result, error) {
	dst := e.DCs[c.DC].Client
	res.SourceDC, res.SourceVMID = c.Move.SourceDC, c.Move.SourceVMID
	res.TargetVMID, res.TargetNode = c.VMID, c.Node
	_, cur, err := vm.Observe(ctx, dst, c.Node, c.VMID, "")
	if err != nil {
		return res, e.cut(ctx, req, c, PhaseRemap, err)
	}
	name := vmName(req, cur.Name)
	e.log(ctx, PhaseRemap, "putting the network interfaces of %s on the networks of %s", name, c.DC)
	targets := planned
	if targets == nil {
		if targets, err = req.NICs.Arrived(ctx, dst, cur.NICs); err != nil {
			return res, e.cut(ctx, req, c, PhaseRemap, err)
		}
	}
	if len(targets) != len(cur.NICs) {
		return res, e.cut(ctx, req, c, PhaseRemap, fmt.Errorf("%s has %d network interfaces in %s, %d targets", name, len(cur.NICs), c.DC, len(targets)))
	}
	for i := range targets {
		if err := e.Nets.Address(ctx, dst, &targets[i], cur.NICs[i].IP.Addr(), c.VMID); err != nil {
			return res, e.cut(ctx, req, c, PhaseRemap, fmt.Errorf("net%d: %w", i, err))
		}
	}
	if err := rewriteNICs(ctx, dst, c.Node, c.VMID, cur.NICs, targets); err != nil {
		return res, e.cut(ctx, req, c, PhaseRemap, err)
	}
	if c.Move.WasRunning && !cur.Running {
		e.log(ctx, PhaseStart, "starting %s in %s", name, c.DC)
		if err := vm.Start(ctx, dst, c.Node, c.VMID); err != nil {
			return res, e.cut(ctx, req, c, PhaseStart, err)
		}
	}
	e.log(ctx, PhaseCleanup, "removing the move record of %s in %s", name, c.DC)
	if err := setMarker(ctx, dst, c.Node, c.VMID, req.ID, cur.Tags, nil); err != nil {
		return res, e.cut(ctx, req, c, PhaseCleanup, err)
	}
	e.log(ctx, PhaseCompleted, "%s moved from %s (VMID %d) to %s (VMID %d)", name, res.SourceDC, res.SourceVMID, c.DC, c.VMID)
	res.CompletedAt = time.Now().UTC()
	return res, nil
}

// cut words a failure after the transfer: the VM is in the target with its tag, so the next
// Move finishes it.
func (e *Engine) cut(ctx context.Context, req Request, c Copy, p Phase, err error) error {
	if ctx.Err() != nil {
		return &InterruptedError{VM: vmName(req, ""), Source: c.Move.SourceDC, Target: c.DC, Phase: p, Err: err}
	}
	return fmt.Errorf("%s was migrated to %s (VMID %d) but the %s step failed: %w; apply again to finish the move", vmName(req, ""), c.DC, c.VMID, p, err)
}

// endpointFor builds target-endpoint from the target's configuration. Without a pinned
// fingerprint it passes the one moxxie's own connection saw: PVE refuses a target whose
// certificate it cannot verify ("fingerprint '…' not verified, abort!"). With a target node,
// the connection goes to that node's address, which is where PVE puts the VM, pinned to that
// node's own certificate as the target cluster reports it over moxxie's verified connection
// (each node serves its own; the configured endpoint's fingerprint is another node's).
func (e *Engine) endpointFor(ctx context.Context, req Request) (string, string, error) {
	cfg := e.DCs[req.Target].Config
	warn := ""
	if cfg.TLSFingerprint == "" {
		peer, err := dcrouter.PeerCertificate(ctx, cfg)
		if err != nil {
			return "", "", err
		}
		cfg.TLSFingerprint = peer.Fingerprint
		if !peer.Verified {
			warn = fmt.Sprintf("Datacenter %s has no tls_fingerprint and tls_insecure = true: moxxie passed PVE the fingerprint %s of the certificate it was shown, which nobody verified. Set tls_fingerprint (or tls_ca_pem) for %s to verify the target of migrations.", req.Target, peer.Fingerprint, req.Target)
		}
	}
	if req.TargetNode != "" {
		status, err := e.DCs[req.Target].Client.ClusterStatus(ctx)
		if err != nil {
			return "", "", err
		}
		ip := ""
		for _, s := range status {
			if s.Type == "node" && s.Name == req.TargetNode {
				ip = s.IP
			}
		}
		if ip == "" {
			return "", "", fmt.Errorf("datacenter %s has no node %q", req.Target, req.TargetNode)
		}
		nodes, err := e.DCs[req.Target].Client.Nodes(ctx)
		if err != nil {
			return "", "", err
		}
		for _, n := range nodes {
			if n.Node == req.TargetNode && n.SSLFingerprint != "" {
				cfg.TLSFingerprint = n.SSLFingerprint // as trustworthy as the connection that read it (warn says when it is not)
			}
		}
		u, err := url.Parse(cfg.URL)
		if err != nil {
			return "", "", err
		}
		if port := u.Port(); port != "" {
			u.Host = net.JoinHostPort(ip, port)
		} else {
			u.Host = ip
		}
		cfg.URL = u.String()
	}
	ep, err := dcrouter.TargetEndpoint(cfg)
	return ep, warn, err
}

// bridgeMap is target-bridge: each source bridge to its target. PVE maps bridges, not NICs, so
// two NICs on one source bridge must go to one target bridge.
func bridgeMap(nics []vm.NIC, targets []NICTarget) (string, error) {
	if len(nics) != len(targets) {
		return "", fmt.Errorf("the VM has %d network interfaces but %d have a target network", len(nics), len(targets))
	}
	m := map[string]string{}
	for i, n := range nics {
		t := targets[i].Bridge
		if prev, ok := m[n.Bridge]; ok && prev != t {
			return "", fmt.Errorf("network interfaces on bridge %s map to both %s and %s; PVE moves a bridge to one target bridge", n.Bridge, prev, t)
		}
		m[n.Bridge] = t
	}
	if len(m) == 0 {
		return "vmbr0", nil // PVE requires the parameter even for a VM without NICs
	}
	return pairs(m), nil
}

// storageMap is target-storage for every volume of the config (disks, cloud-init drive, unused
// volumes), plus the default for anything else.
func storageMap(cfg dcrouter.VMConfig, target func(string) string) string {
	m := map[string]string{}
	for _, v := range volumes(cfg) {
		if v.storage != "" {
			m[v.storage] = target(v.storage)
		}
	}
	def := target("")
	if len(m) == 0 {
		return def
	}
	out := pairs(m)
	if def != "" {
		out += "," + def
	}
	return out
}

func pairs(m map[string]string) string {
	keys := slices.Sorted(maps.Keys(m))
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = k + ":" + m[k]
	}
	return strings.Join(out, ",")
}

// rewriteNICs puts each NIC on its target network: remote_migrate rewrote only the bridge and kept
// the source's VLAN tag and cloud-init address, which are wrong in the target.
func rewriteNICs(ctx context.Context, c *dcrouter.Client, node string, vmid int, cur []vm.NIC, targets []NICTarget) error {
	p := map[string]any{}
	var del []string
	for i, n := range cur {
		t := targets[i]
		key := fmt.Sprint(i)
		want := n
		want.Bridge, want.VLAN, want.IP, want.Gateway = t.Bridge, t.VLAN, t.IP, t.Gateway
		if v := vm.NetValue(want); v != vm.NetValue(n) {
			p["net"+key] = v
		}
		ipc, old := vm.IPConfigValue(want), vm.IPConfigValue(n)
		switch {
		case ipc != "" && ipc != old:
			p["ipconfig"+key] = ipc
		case ipc == "" && old != "":
			del = append(del, "ipconfig"+key)
		}
	}
	if len(del) > 0 {
		p["delete"] = strings.Join(del, ",")
	}
	if len(p) == 0 {
		return nil
	}
	return c.UpdateVMConfig(ctx, node, vmid, p)
}

// withTaskLog adds the end of a failed task's log: PVE's task status says only "migration
// aborted", the reason is in the log.
func withTaskLog(ctx context.Context, c *dcrouter.Client, upid string, err error) error {
	lines, lerr := c.TaskLog(ctx, upid)
	if lerr != nil || len(lines) == 0 {
		return err
	}
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return fmt.Errorf("%w (task log: %s)", err, strings.Join(lines, " | "))
}

// Check is the plan-time part of preflight for a VM found in src: what PVE would refuse, and
// NICs without a target. Nothing is changed.
func (e *Engine) Check(ctx context.Context, req Request) (Copy, error) {
	f := e.Find(ctx, req.ID)
	if len(f.Copies) == 0 {
		if len(f.Down) > 0 {
			return Copy{}, fmt.Errorf("%s could not be asked: %v", strings.Join(slices.Sorted(maps.Keys(f.Down)), ", "), firstErr(f.Down))
		}
		return Copy{}, fmt.Errorf("%w: no datacenter holds a VM with identity moxxie-%s", ErrNotFound, req.ID)
	}
	if len(f.Copies) > 1 {
		return Copy{}, &SplitError{ID: req.ID, Copies: f.Copies}
	}
	c := f.Copies[0]
	if c.Move != nil || c.Lock == "migrate" {
		return c, nil // a move in flight: apply finishes it
	}
	if c.DC == req.Target {
		if req.RequireMove {
			return c, &AlreadyThereError{VM: vmName(req, c.Name), DC: c.DC}
		}
		return c, nil
	}
	j, problems, err := e.judge(ctx, req, c)
	if err != nil {
		return c, err
	}
	if len(problems) > 0 {
		return c, &PreflightError{VM: fmt.Sprintf("%s (%s, VMID %d)", vmName(req, j.cur.Name), c.DC, c.VMID), Problems: problems}
	}
	return c, nil
}

// judged is a copy's move as its preflight saw it: the VM, its current config, where its NICs
// go (and the target-bridge map of them) and where each of its storages goes.
type judged struct {
	cur     vm.VM
	cfg     dcrouter.VMConfig
	nics    []NICTarget
	bridges string
	storage func(string) string
}

// judge reads copy c where it is and runs the preflight of its move to req.Target: what Check
// refuses at plan time and start refuses before it touches the VM, one reading for both.
func (e *Engine) judge(ctx context.Context, req Request, c Copy) (judged, []Problem, error) {
	src, dst := e.DCs[c.DC].Client, e.DCs[req.Target].Client
	_, cur, err := vm.Observe(ctx, src, c.Node, c.VMID, c.Status)
	if err != nil {
		return judged{}, nil, err
	}
	cfg, err := src.VMConfig(ctx, c.Node, c.VMID, true)
	if err != nil {
		return judged{}, nil, err
	}
	j := judged{cur: cur, cfg: cfg, storage: func(s string) string {
		if t, ok := req.Storage[s]; ok {
			return t
		}
		return e.DCs[req.Target].Storage
	}}
	var nicErr error
	j.nics, nicErr = req.NICs.Targets(ctx, src, dst, cur.NICs)
	loc := vm.Location{Node: c.Node, VMID: c.VMID, Status: c.Status, Lock: c.Lock}
	problems := preflight(ctx, check{src: src, dst: dst, loc: loc, cur: cur, cfg: cfg, live: req.Live, storage: j.storage, nics: j.nics, targetNode: req.TargetNode, releaseHA: e.ReleaseHA != nil})
	if nicErr != nil {
		problems = append(problems, Problem{Field: FieldNetwork, Msg: nicErr.Error()})
	} else if j.bridges, err = bridgeMap(cur.NICs, j.nics); err != nil {
		problems = append(problems, Problem{Field: FieldNetwork, Msg: err.Error()})
	}
	return j, problems, nil
}
