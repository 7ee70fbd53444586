#include "dataplane/request_handler.h"

namespace proxynode {

void RespondHandler::Handle(const RequestHead& /*request*/, const ConfigSnapshot& config,
                            ResponsePlan& plan) {
  plan.status = 200;
  plan.delay = config.delay;
  plan.body = config.body;
}

}  // namespace proxynode
