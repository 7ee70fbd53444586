#include "dataplane/server/response_decision.h"

#include "dataplane/server/admission.h"

namespace proxynode {

std::string_view ErrorBody(int status) {
  switch (status) {
    case 408:
      return "Request Timeout\n";
    case 413:
      return "Content Too Large\n";
    case 429:
      return "Too Many Requests\n";
    case 431:
      return "Request Header Fields Too Large\n";
    case 502:
      return "Bad Gateway\n";
    case 504:
      return "Gateway Timeout\n";
    case 501:
      return "Not Implemented\n";
    case 503:
      return "Service Unavailable\n";
    case 505:
      return "HTTP Version Not Supported\n";
    default:
      return "Bad Request\n";
  }
}

}  // namespace proxynode
