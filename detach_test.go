package main

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/hashicorp/terraform-plugin-framework/providerserver"
	"github.com/hashicorp/terraform-plugin-go/tfprotov6"
	"github.com/hashicorp/terraform-plugin-go/tftypes"

	"github.com/moxxie/terraform-provider-moxxie/internal/provider"
)

type ctxKey struct{}

// keeper is a downstream server that keeps every RPC's context, as the framework does.
type keeper struct {
	tfprotov6.ProviderServer
	kept []context.Context
	seen func(ctx context.Context)
}

func (k *keeper) ReadResource(ctx context.Context, _ *tfprotov6.ReadResourceRequest) (*tfprotov6.ReadResourceResponse, error) {
	kept, cancel := context.WithCancel(ctx)
	_ = cancel // kept forever, as proto6server.registerContext keeps it
	k.kept = append(k.kept, kept)
	if k.seen != nil {
		k.seen(kept)
	}
	return &tfprotov6.ReadResourceResponse{}, nil
}

func TestDetachedServerForwardsDuringTheRPC(t *testing.T) {
	deadline := time.Now().Add(time.Hour)
	req, cancel := context.WithDeadline(context.WithValue(context.Background(), ctxKey{}, "value"), deadline)
	defer cancel()
	k := &keeper{}
	k.seen = func(ctx context.Context) {
		if got := ctx.Value(ctxKey{}); got != "value" {
			t.Errorf("Value during the RPC = %v, want the request's value", got)
		}
		if d, ok := ctx.Deadline(); !ok || !d.Equal(deadline) {
			t.Errorf("Deadline during the RPC = %v %v, want the request's", d, ok)
		}
		if ctx.Err() != nil {
			t.Errorf("Err during the RPC = %v", ctx.Err())
		}
		cancel() // the request is cancelled (Terraform stopped): the RPC's context must see it
		select {
		case <-ctx.Done():
		case <-time.After(10 * time.Second):
			t.Error("cancelling the request did not reach the RPC's context")
		}
	}
	if _, err := (detachedServer{k}).ReadResource(req, nil); err != nil {
		t.Fatal(err)
	}
	if len(k.kept) != 1 {
		t.Fatalf("downstream saw %d RPCs", len(k.kept))
	}
}

func TestDetachedServerLetsGoOfTheRequest(t *testing.T) {
	k := &keeper{}
	big := new([1 << 20]byte)
	ref := weak.Make(big)
	req := context.WithValue(context.Background(), ctxKey{}, big)
	if _, err := (detachedServer{k}).ReadResource(req, nil); err != nil {
		t.Fatal(err)
	}
	if got := k.kept[0].Value(ctxKey{}); got != nil {
		t.Errorf("Value after the RPC = %v, want nil", got)
	}
	runtime.GC() // big is referenced from nothing but the contexts now
	if ref.Value() != nil {
		t.Error("the request's context is still reachable through the context the downstream kept")
	}
	runtime.KeepAlive(k)
}

func TestSeveredContextReadsAsCancelled(t *testing.T) {
	parent, cancel := context.WithTimeout(context.Background(), time.Hour)
	defer cancel()
	s := newSeverable(parent)
	if s.Done() != parent.Done() {
		t.Error("an attached context must hand out its parent's Done channel")
	}
	s.sever()
	if err := s.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("Err after sever = %v, want context.Canceled", err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done after sever is not closed")
	}
	if _, ok := s.Deadline(); ok {
		t.Error("a severed context still has its parent's deadline")
	}
}

// The framework itself keeps every RPC's context (the reason for detachedServer): through the
// wrapper, what the request carried is collectable once the RPC is done; without it, it is not.
func TestFrameworkKeepsNoRequestThroughDetachedServer(t *testing.T) {
	for _, wrap := range []bool{true, false} {
		server := providerserver.NewProtocol6(provider.New("test")())()
		if wrap {
			server = detachedServer{server}
		}
		schema, err := server.GetProviderSchema(context.Background(), &tfprotov6.GetProviderSchemaRequest{})
		if err != nil || len(schema.Diagnostics) > 0 {
			t.Fatalf("GetProviderSchema: %v %v", err, schema.Diagnostics)
		}
		vmSchema := schema.ResourceSchemas["moxxie_vm"]
		if vmSchema == nil {
			t.Fatal("no moxxie_vm schema")
		}
		config, err := tfprotov6.NewDynamicValue(vmSchema.ValueType(), tftypes.NewValue(vmSchema.ValueType(), nil))
		if err != nil {
			t.Fatal(err)
		}
		big := new([1 << 20]byte)
		ref := weak.Make(big)
		ctx, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, big))
		if _, err := server.ValidateResourceConfig(ctx, &tfprotov6.ValidateResourceConfigRequest{TypeName: "moxxie_vm", Config: &config}); err != nil {
			t.Fatal(err)
		}
		cancel() // as gRPC does when the RPC is done
		runtime.GC()
		if collected := ref.Value() == nil; collected != wrap {
			t.Errorf("wrapped %v: the request's context collected %v, want %v", wrap, collected, wrap)
		}
		runtime.KeepAlive(server)
	}
}
