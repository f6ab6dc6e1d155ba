package main

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
)

// detachedServer hands the framework a context it may keep after an RPC without keeping the
// request with it. terraform-plugin-framework (proto6server.registerContext) records a cancel
// function for the context of every RPC, to cancel them all on StopProvider, and never drops
// one: each pins its RPC's whole context chain (the gRPC stream, the SDK's loggers and fields),
// some 20 KB, for the life of the process, and a plan makes several RPCs per VM. The
// resource and data source RPCs, the ones made per instance, get a context that lets go of the
// request when the RPC returns; the others run once or a few times per process and pass through.
// Only tfprotov6.ProviderServer is passed on: tf6server's optional list resource, action and
// state store servers would need forwarding here once moxxie has any.
type detachedServer struct {
	tfprotov6.ProviderServer
}

// severable is a context that forwards to its parent until sever, then holds nothing and reads
// as cancelled, as gRPC cancels an RPC's context once the RPC is done. Done returns the parent's
// own channel while attached, so contexts derived from it register with the parent as usual.
type severable struct {
	parent atomic.Pointer[context.Context]
}

var severedDone = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func newSeverable(parent context.Context) *severable {
	s := &severable{}
	s.parent.Store(&parent)
	return s
}

func (s *severable) sever() { s.parent.Store(nil) }

func (s *severable) Deadline() (time.Time, bool) {
	if p := s.parent.Load(); p != nil {
		return (*p).Deadline()
	}
	return time.Time{}, false
}

func (s *severable) Done() <-chan struct{} {
	if p := s.parent.Load(); p != nil {
		return (*p).Done()
	}
	return severedDone
}

func (s *severable) Err() error {
	if p := s.parent.Load(); p != nil {
		return (*p).Err()
	}
	return context.Canceled
}

func (s *severable) Value(key any) any {
	if p := s.parent.Load(); p != nil {
		return (*p).Value(key)
	}
	return nil
}

// detached runs one RPC on a severable context.
func detached[Req, Resp any](ctx context.Context, req Req, rpc func(context.Context, Req) (Resp, error)) (Resp, error) {
	s := newSeverable(ctx)
	defer s.sever()
	return rpc(s, req)
}

func (d detachedServer) ValidateResourceConfig(ctx context.Context, req *tfprotov6.ValidateResourceConfigRequest) (*tfprotov6.ValidateResourceConfigResponse, error) {
	return detached(ctx, req, d.ProviderServer.ValidateResourceConfig)
}

func (d detachedServer) UpgradeResourceState(ctx context.Context, req *tfprotov6.UpgradeResourceStateRequest) (*tfprotov6.UpgradeResourceStateResponse, error) {
	return detached(ctx, req, d.ProviderServer.UpgradeResourceState)
}

func (d detachedServer) ReadResource(ctx context.Context, req *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	return detached(ctx, req, d.ProviderServer.ReadResource)
}

func (d detachedServer) PlanResourceChange(ctx context.Context, req *tfprotov6.PlanResourceChangeRequest) (*tfprotov6.PlanResourceChangeResponse, error) {
	return detached(ctx, req, d.ProviderServer.PlanResourceChange)
}

func (d detachedServer) ApplyResourceChange(ctx context.Context, req *tfprotov6.ApplyResourceChangeRequest) (*tfprotov6.ApplyResourceChangeResponse, error) {
	return detached(ctx, req, d.ProviderServer.ApplyResourceChange)
}

func (d detachedServer) ImportResourceState(ctx context.Context, req *tfprotov6.ImportResourceStateRequest) (*tfprotov6.ImportResourceStateResponse, error) {
	return detached(ctx, req, d.ProviderServer.ImportResourceState)
}

func (d detachedServer) MoveResourceState(ctx context.Context, req *tfprotov6.MoveResourceStateRequest) (*tfprotov6.MoveResourceStateResponse, error) {
	return detached(ctx, req, d.ProviderServer.MoveResourceState)
}

func (d detachedServer) UpgradeResourceIdentity(ctx context.Context, req *tfprotov6.UpgradeResourceIdentityRequest) (*tfprotov6.UpgradeResourceIdentityResponse, error) {
	return detached(ctx, req, d.ProviderServer.UpgradeResourceIdentity)
}

func (d detachedServer) GenerateResourceConfig(ctx context.Context, req *tfprotov6.GenerateResourceConfigRequest) (*tfprotov6.GenerateResourceConfigResponse, error) {
	return detached(ctx, req, d.ProviderServer.GenerateResourceConfig)
}

func (d detachedServer) ValidateDataResourceConfig(ctx context.Context, req *tfprotov6.ValidateDataResourceConfigRequest) (*tfprotov6.ValidateDataResourceConfigResponse, error) {
	return detached(ctx, req, d.ProviderServer.ValidateDataResourceConfig)
}

func (d detachedServer) ReadDataSource(ctx context.Context, req *tfprotov6.ReadDataSourceRequest) (*tfprotov6.ReadDataSourceResponse, error) {
	return detached(ctx, req, d.ProviderServer.ReadDataSource)
}
