package temporalx

import (
	"context"
	"errors"
	"fmt"
	"time"

	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/types/known/durationpb"
)

// ErrCreateNamespaceDenied is returned when a namespace is missing and the server refuses to
// let these credentials create it (an authorizer, Temporal Cloud).
var ErrCreateNamespaceDenied = errors.New("the server does not let these credentials create namespaces")

// NamespaceState is what EnsureNamespace found and did.
type NamespaceState struct {
	Retention time.Duration // the namespace's retention now
	Created   bool
	// Previous is the retention an update replaced; zero when nothing was updated.
	Previous time.Duration
}

// EnsureNamespace registers namespace with retention when it does not exist. An existing
// namespace keeps its retention unless update is set: an operator's namespace is theirs to
// configure, while the dev stack's own follows the configured retention.
func EnsureNamespace(ctx context.Context, c client.Client, namespace string, retention time.Duration, update bool) (NamespaceState, error) {
	ws := c.WorkflowService()
	desc, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace})
	var notFound *serviceerror.NamespaceNotFound
	switch {
	case errors.As(err, &notFound):
		_, err = ws.RegisterNamespace(ctx, &workflowservice.RegisterNamespaceRequest{
			Namespace:                        namespace,
			WorkflowExecutionRetentionPeriod: durationpb.New(retention),
			Description:                      "created by entitybase-workers",
		})
		var exists *serviceerror.NamespaceAlreadyExists
		if errors.As(err, &exists) {
			// Created by another process meanwhile: it is theirs as it is.
			return EnsureNamespace(ctx, c, namespace, retention, false)
		}
		var denied *serviceerror.PermissionDenied
		var unimplemented *serviceerror.Unimplemented
		if errors.As(err, &denied) || errors.As(err, &unimplemented) {
			return NamespaceState{}, fmt.Errorf("namespace %s does not exist and %w: %w", namespace, ErrCreateNamespaceDenied, err)
		}
		if err != nil {
			return NamespaceState{}, fmt.Errorf("create namespace %s: %w", namespace, err)
		}
		if err := awaitNamespace(ctx, c, namespace); err != nil {
			return NamespaceState{}, err
		}
		return NamespaceState{Retention: retention, Created: true}, nil
	case err != nil:
		return NamespaceState{}, fmt.Errorf("describe namespace %s: %w", namespace, err)
	}
	have := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration()
	if !update || have == retention {
		return NamespaceState{Retention: have}, nil
	}
	// Only the fields set in Config change.
	_, err = ws.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
		Namespace: namespace,
		Config:    &namespacepb.NamespaceConfig{WorkflowExecutionRetentionTtl: durationpb.New(retention)},
	})
	if err != nil {
		return NamespaceState{}, fmt.Errorf("set retention of namespace %s to %s: %w", namespace, retention, err)
	}
	return NamespaceState{Retention: retention, Previous: have}, nil
}

// awaitNamespace waits until the frontend's namespace cache has a namespace just created: it
// remembers a miss for a second, and calls in that time would fail with "not found".
func awaitNamespace(ctx context.Context, c client.Client, namespace string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		_, err := c.OperatorService().ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: namespace})
		var notFound *serviceerror.NamespaceNotFound
		switch {
		case err == nil:
			return nil
		case !errors.As(err, &notFound):
			return fmt.Errorf("namespace %s created: %w", namespace, err)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("namespace %s created but not served after 15s: %w", namespace, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
